"""Small PUTs (and the run cache's one LIST) on a plain ``s3://`` store, without s3fs.

After an isolated cluster run the planner uploads two small objects per stage (the output
sent back with the result, the run record). Through s3fs/aiobotocore each PUT cost ~1.8-2.0 ms
of client CPU (hooks, endpoint rules, a fresh aiohttp request per call); signing a URL with
botocore and sending the bytes with urllib3 costs ~0.8 ms (1,000 PUTs of 1 KiB to moto's server,
issue 13). botocore still resolves credentials, region and endpoint (``AWS_ENDPOINT_URL_S3``)
exactly as for s3fs, and signs the body's MD5 (S3 refuses bytes damaged on the way).

Anything unusual (a proxy in the environment, an error, a redirect to another
region) turns this path off for that store and the caller uses s3fs, with its retries and
error mapping: the light path can only be skipped, never change what is stored where.
``PIVOT_S3_LIGHT_PUT=0`` turns it off.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
from typing import Any

log = logging.getLogger(__name__)
EXPIRES_S = 900  # a URL is used at once; the bound only limits a leaked log line
_ENV_OFF = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")  # botocore would go through the proxy; urllib3 would not


class LightPut:
    def __init__(self, base: str) -> None:
        self.bucket, _, prefix = base.partition("/")
        self.prefix = f"{prefix}/" if prefix else ""
        self.off = _env_says_off()
        self._lock = threading.Lock()
        self._client: Any = None
        self._http: Any = None

    def put(self, key: str, data: bytes) -> bool:
        """Store ``data`` at ``key`` (store-relative); False when the caller must use s3fs instead."""
        if self.off:
            return False
        try:
            client, http = self._open()
            md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
            url = client.generate_presigned_url(
                "put_object", Params={"Bucket": self.bucket, "Key": self.prefix + key, "ContentMD5": md5},
                ExpiresIn=EXPIRES_S)
            resp = http.request("PUT", url, body=data, headers={"Content-MD5": md5},
                                retries=False, redirect=False)
        except Exception as exc:  # any surprise: the full client takes over
            return self._give_up(f"{type(exc).__name__}: {exc}")
        if resp.status != 200:
            return self._give_up(f"HTTP {resp.status}: {resp.data[:200]!r}")
        return True

    def list_page(self, prefix: str, limit: int = 1000) -> tuple[bool, set[str] | None]:
        """(True, the store-relative keys under ``prefix`` when one LIST holds them all, else None),
        or (False, None) when the caller must ask s3fs: the run cache's one listing then needs no
        s3fs import (~0.3 s of CPU in the planner). A failure here leaves the PUT path on."""
        if self.off:
            return False, None
        try:
            client, _ = self._open()
            resp = client.list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}{prefix.strip('/')}/",
                                          MaxKeys=limit)
        except Exception as exc:  # s3fs asks again, with its retries and error mapping
            log.debug("light S3 LIST failed for %s: %s; using s3fs", self.bucket, exc)
            return False, None
        if resp.get("IsTruncated"):
            return True, None
        start = len(self.prefix)
        return True, {k[start:] for o in resp.get("Contents", []) if (k := str(o["Key"])).startswith(self.prefix)}

    def _open(self) -> tuple[Any, Any]:
        with self._lock:
            if self._client is None:
                import botocore.session  # type: ignore[import-untyped]
                import urllib3
                from botocore.config import Config  # type: ignore[import-untyped]

                session = botocore.session.get_session()
                self._client = session.create_client("s3", config=Config(parameter_validation=False, signature_version="s3v4"))
                # the CA bundle botocore (and so s3fs) trusts: AWS_CA_BUNDLE or the config file's ca_bundle
                self._http = urllib3.PoolManager(maxsize=8, timeout=urllib3.Timeout(connect=10, read=60),
                                                 ca_certs=session.get_config_variable("ca_bundle"))
            return self._client, self._http

    def _give_up(self, why: str) -> bool:
        if not self.off:
            log.debug("light S3 PUT off for %s: %s; using s3fs", self.bucket, why)
        self.off = True
        return False


def _env_says_off() -> bool:
    if os.environ.get("PIVOT_S3_LIGHT_PUT", "1").strip().lower() in ("0", "false", "no", "off"):
        return True
    return any(os.environ.get(k) or os.environ.get(k.lower()) for k in _ENV_OFF)

"""Small PUTs (and the run cache's one LIST) on a plain ``s3://`` store, without s3fs.

After an isolated cluster run the planner uploads two small objects per stage (the output
sent back with the result, the run record). Client CPU per PUT (1,000 PUTs of 1 KiB to moto's
server, issue 13): s3fs/aiobotocore ~1.8-2.0 ms (hooks, endpoint rules, a fresh aiohttp request
per call); a URL presigned by botocore sent by urllib3 ~1.1 ms; now ~0.5 ms: the URL is signed by
cache/s3sign.py (botocore's own URL reproduced, checked once per store) and sent by http.client
on a connection kept per thread. botocore still resolves credentials, region and endpoint
(``AWS_ENDPOINT_URL_S3``) exactly as for s3fs, and the body's MD5 is signed (S3 refuses bytes
damaged on the way).

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

from pivot.cache.s3sign import Signer

log = logging.getLogger(__name__)
EXPIRES_S = 900  # a URL is used at once; the bound only limits a leaked log line
TIMEOUT_S = 60  # connect, and each read of the reply
_ENV_OFF = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")  # botocore would go through the proxy; http.client would not


class LightPut:
    def __init__(self, base: str) -> None:
        self.bucket, _, prefix = base.partition("/")
        self.prefix = f"{prefix}/" if prefix else ""
        self.off = _env_says_off()
        self._lock = threading.Lock()
        self._client: Any = None
        self._ca_bundle: str | None = None
        self._context: Any = None
        self._signer: Signer | None = None
        self._local = threading.local()  # per thread: its kept-alive connections

    def put(self, key: str, data: bytes) -> bool:
        """Store ``data`` at ``key`` (store-relative); False when the caller must use s3fs instead."""
        if self.off:
            return False
        try:
            client = self._open()
            md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
            if self._signer is not None:  # botocore's URL, reproduced without its per-call resolving
                url = self._signer.url(self.prefix + key, md5)
            else:
                url = client.generate_presigned_url(
                    "put_object", Params={"Bucket": self.bucket, "Key": self.prefix + key, "ContentMD5": md5},
                    ExpiresIn=EXPIRES_S)
            status, body = self._send(url, data, md5)
        except Exception as exc:  # any surprise: the full client takes over
            return self._give_up(f"{type(exc).__name__}: {exc}")
        if status != 200:
            return self._give_up(f"HTTP {status}: {body[:200]!r}")
        return True

    def _send(self, url: str, data: bytes, md5: str) -> tuple[int, bytes]:
        """One PUT on this thread's kept-alive connection to the endpoint (http.client: a third of
        urllib3's CPU per request). A connection the server dropped while idle is opened again once:
        the PUT of the same bytes to the same key may be repeated."""
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        target = f"{parts.path}?{parts.query}"
        headers = {"Content-MD5": md5}
        for attempt in (1, 2):
            conn = self._connection(parts.scheme, parts.netloc, fresh=attempt == 2)
            try:
                conn.request("PUT", target, body=data, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _connection(self, scheme: str, netloc: str, *, fresh: bool) -> Any:
        import http.client

        conns: dict[tuple[str, str], Any] = self._local.__dict__.setdefault("conns", {})
        conn = conns.get((scheme, netloc))
        if conn is None or fresh:
            if scheme == "https":
                conn = http.client.HTTPSConnection(netloc, timeout=TIMEOUT_S, context=self._tls())
            elif scheme == "http":
                conn = http.client.HTTPConnection(netloc, timeout=TIMEOUT_S)
            else:
                raise ValueError(f"unexpected URL scheme {scheme!r}")
            conns[(scheme, netloc)] = conn
        return conn

    def _tls(self) -> Any:
        with self._lock:
            if self._context is None:
                import ssl

                # the CA bundle botocore (and so s3fs) trusts: AWS_CA_BUNDLE or the config file's ca_bundle
                self._context = ssl.create_default_context(cafile=self._ca_bundle)
            return self._context

    def list_page(self, prefix: str, limit: int = 1000) -> tuple[bool, set[str] | None]:
        """(True, the store-relative keys under ``prefix`` when one LIST holds them all, else None),
        or (False, None) when the caller must ask s3fs: the run cache's one listing then needs no
        s3fs import (~0.3 s of CPU in the planner). A failure here leaves the PUT path on."""
        if self.off:
            return False, None
        try:
            resp = self._open().list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}{prefix.strip('/')}/",
                                          MaxKeys=limit)
        except Exception as exc:  # s3fs asks again, with its retries and error mapping
            log.debug("light S3 LIST failed for %s: %s; using s3fs", self.bucket, exc)
            return False, None
        if resp.get("IsTruncated"):
            return True, None
        start = len(self.prefix)
        return True, {k[start:] for o in resp.get("Contents", []) if (k := str(o["Key"])).startswith(self.prefix)}

    def _open(self) -> Any:
        with self._lock:
            if self._client is None:
                import botocore.session  # type: ignore[import-untyped]
                from botocore.config import Config  # type: ignore[import-untyped]

                session = botocore.session.get_session()
                self._client = session.create_client("s3", config=Config(parameter_validation=False, signature_version="s3v4"))
                self._ca_bundle = session.get_config_variable("ca_bundle")
                try:
                    self._signer = Signer.learn(self._client, session.get_credentials(), self.bucket, self.prefix,
                                                EXPIRES_S)
                except Exception as exc:  # botocore signs every URL, as it would anyway
                    log.debug("light S3 signer not used for %s: %s", self.bucket, exc)
            return self._client

    def _give_up(self, why: str) -> bool:
        if not self.off:
            log.debug("light S3 PUT off for %s: %s; using s3fs", self.bucket, why)
        self.off = True
        return False


def _env_says_off() -> bool:
    if os.environ.get("PIVOT_S3_LIGHT_PUT", "1").strip().lower() in ("0", "false", "no", "off"):
        return True
    return any(os.environ.get(k) or os.environ.get(k.lower()) for k in _ENV_OFF)

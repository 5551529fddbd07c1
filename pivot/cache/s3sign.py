"""Presigned PUT URLs for the light S3 path (cache/s3put.py), signed here instead of by botocore.

botocore's ``generate_presigned_url`` resolves the endpoint rules and runs its event hooks on
every call: ~0.3 ms of CPU per PUT, a third of the planner's cost per small upload (issue 13).
What it resolves (scheme, host, the path before the key, the signing region) does not change
within a store, so it is learned from one URL botocore signs, and that URL is then signed again
here with botocore's own timestamp: only when the two URLs are equal, character for character,
is this signer used; otherwise every URL keeps coming from botocore. The credentials are asked
for on every URL (refreshable ones stay current). The algorithm is AWS SigV4 query signing, as
botocore applies it to S3 (no path normalisation, UNSIGNED-PAYLOAD, the body's MD5 signed).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

ALGO = "AWS4-HMAC-SHA256"
_STAMP = "%Y%m%dT%H%M%SZ"
_SAFE = "-_.~"  # botocore's percent_encode for query keys and values
PROBE = "pivot-sign-probe"  # a key that is only signed, never sent


class Signer:
    def __init__(self, credentials: Any, scheme: str, netloc: str, base_path: str, region: str,
                 expires: int) -> None:
        self._credentials = credentials
        self.scheme, self.netloc, self.base_path, self.region, self.expires = scheme, netloc, base_path, region, expires
        self.host = _host(scheme, netloc)
        self._key: tuple[str, str, bytes] | None = None  # (secret, day, signing key): one HMAC chain a day

    @classmethod
    def learn(cls, client: Any, credentials: Any, bucket: str, prefix: str, expires: int) -> Signer | None:
        """A signer that reproduces ``client``'s presigned PUT URL exactly, or None."""
        md5 = "1B2M2Y8AsgTpgAEAAAAAAA=="
        theirs = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": prefix + PROBE,
                                                                     "ContentMD5": md5}, ExpiresIn=expires)
        parts = urlsplit(theirs)
        quoted = quote(prefix + PROBE, safe="/~")
        fields = dict(p.partition("=")[::2] for p in parts.query.split("&"))
        credential = fields.get("X-Amz-Credential", "").split("%2F")
        if not parts.path.endswith(quoted) or len(credential) != 5 or "X-Amz-Date" not in fields:
            return None
        signer = cls(credentials, parts.scheme, parts.netloc, parts.path[: -len(quoted)], credential[2], expires)
        when = datetime.strptime(fields["X-Amz-Date"], _STAMP).replace(tzinfo=UTC)
        return signer if signer.url(prefix + PROBE, md5, when) == theirs else None

    def url(self, key: str, md5: str, when: datetime | None = None) -> str:
        """The presigned URL of a PUT of bytes whose base64 MD5 is ``md5`` to the store key ``key``."""
        creds = self._credentials.get_frozen_credentials()
        stamp = (when or datetime.now(UTC)).strftime(_STAMP)
        scope = f"{stamp[:8]}/{self.region}/s3/aws4_request"
        params = [("X-Amz-Algorithm", ALGO), ("X-Amz-Credential", f"{creds.access_key}/{scope}"),
                  ("X-Amz-Date", stamp), ("X-Amz-Expires", str(self.expires)),
                  ("X-Amz-SignedHeaders", "content-md5;host")]
        if creds.token is not None:
            params.append(("X-Amz-Security-Token", creds.token))
        pairs = [(quote(k, safe=_SAFE), quote(v, safe=_SAFE)) for k, v in params]
        query = "&".join(f"{k}={v}" for k, v in pairs)
        path = self.base_path + quote(key, safe="/~")
        canonical = "\n".join(["PUT", path, "&".join(f"{k}={v}" for k, v in sorted(pairs)),
                               f"content-md5:{md5}", f"host:{self.host}", "", "content-md5;host", "UNSIGNED-PAYLOAD"])
        to_sign = f"{ALGO}\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(creds.secret_key, stamp[:8]), to_sign.encode(), hashlib.sha256)
        return f"{self.scheme}://{self.netloc}{path}?{query}&X-Amz-Signature={signature.hexdigest()}"

    def _signing_key(self, secret: str, day: str) -> bytes:
        cached = self._key
        if cached is not None and cached[0] == secret and cached[1] == day:
            return cached[2]
        key = f"AWS4{secret}".encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self._key = (secret, day, key)
        return key


def _host(scheme: str, netloc: str) -> str:
    """The Host header botocore signs: lower case, without userinfo or a default port."""
    parts = urlsplit(f"{scheme}://{netloc}")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(scheme):
        host = f"{host}:{parts.port}"
    return host

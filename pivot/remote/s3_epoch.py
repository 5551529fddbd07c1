"""One signed S3 GET of a small record without s3fs: how a no-op push confirms the gc epoch.

Importing s3fs/aiobotocore and creating its client costs ~0.5 s, more than the rest of
a push with nothing to send, whose only question to the remote is "is the gc epoch still
the one my index was built under?". This module answers that with the standard library
(AWS Signature V4 over ``urllib``), and only in the simplest setting: credentials,
region and endpoint from the standard environment variables and no storage options.

It can only *confirm*: the caller trusts its answer only when it is byte-equal to the
epoch recorded before (a random 128-bit token no other bucket holds), and any other
outcome (no credentials in the environment, an error, a redirect, a missing record)
returns None so the caller asks through s3fs as before. A wrong endpoint or a signing
mistake therefore costs time, never a stale index.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
import urllib.error
import urllib.parse
import urllib.request

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
TIMEOUT_S = 10


def read_record(url: str, key: str) -> bytes | None:
    """The bytes at ``<url>/<key>`` on S3, or None when this light path cannot say."""
    scheme, _, rest = url.partition("://")
    bucket, _, prefix = rest.strip("/").partition("/")
    access, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if scheme not in ("s3", "s3a") or not bucket or not access or not secret or not region:
        return None  # credentials from a profile, SSO or an instance role: s3fs knows them
    endpoint = (os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
                or f"https://s3.{region}.amazonaws.com").rstrip("/")
    parsed = urllib.parse.urlsplit(endpoint)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("", "/"):
        return None
    path = urllib.parse.quote(f"/{bucket}/{prefix + '/' if prefix else ''}{key}", safe="/-_.~")
    headers = _sign(parsed.netloc, path, access, secret, region, os.environ.get("AWS_SESSION_TOKEN"))
    request = urllib.request.Request(f"{parsed.scheme}://{parsed.netloc}{path}", headers=headers)
    try:
        with _OPENER.open(request, timeout=TIMEOUT_S) as response:
            return response.read(4096) if response.status == 200 else None
    except (OSError, ValueError, urllib.error.URLError):  # HTTPError is a URLError: 404, 403, 301...
        return None


def _sign(host: str, path: str, access: str, secret: str, region: str, token: str | None,
          now: datetime.datetime | None = None) -> dict[str, str]:
    now = now or datetime.datetime.now(datetime.UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"host": host, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": amz_date}
    if token:
        headers["x-amz-security-token"] = token
    names = sorted(headers)
    canonical = "\n".join(["GET", path, "", "".join(f"{n}:{headers[n]}\n" for n in names),
                           ";".join(names), EMPTY_SHA256])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signing = f"AWS4{secret}".encode()
    for part in (day, region, "s3", "aws4_request"):
        signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    del headers["host"]  # urllib sends it itself, with the same value
    return headers


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect (another region) is an error here: s3fs handles it


_OPENER = urllib.request.build_opener(_NoRedirect)

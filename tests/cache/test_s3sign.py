"""The light S3 path signs its PUT URLs itself (cache/s3sign.py): the URL must be exactly the one
botocore presigns for the same key, body MD5 and moment, whatever the endpoint form (issue 13)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pivot.cache.s3sign import Signer

WHEN = dt.datetime(2026, 11, 27, 7, 8, 50, tzinfo=dt.UTC)
MD5 = "XrY7u+Ae7tCTyyK7j1rNww=="


def _client(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> tuple[Any, Any]:
    import botocore.auth  # type: ignore[import-untyped]
    import botocore.session  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    for k in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    # botocore's clock, so both sides sign the same moment (the signer is given it directly)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: WHEN.replace(tzinfo=None))
    session = botocore.session.get_session()
    client = session.create_client("s3", config=Config(parameter_validation=False, signature_version="s3v4"))
    return client, session.get_credentials()


ENDPOINTS = {
    "aws-us-east-1": {"AWS_DEFAULT_REGION": "us-east-1"},
    "aws-eu-west-3": {"AWS_DEFAULT_REGION": "eu-west-3"},
    "moto-port": {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:5123"},
    "https-default-port": {"AWS_DEFAULT_REGION": "us-west-2", "AWS_ENDPOINT_URL_S3": "https://S3.Example.COM:443"},
    "session-token": {"AWS_DEFAULT_REGION": "ap-south-1", "AWS_SESSION_TOKEN": "FQoGZXIvYXdzE+/=token"},
}


@pytest.mark.parametrize("env", ENDPOINTS.values(), ids=ENDPOINTS.keys())
@pytest.mark.parametrize("prefix", ["", "team/pivot-cache/"])
def test_the_url_is_botocores(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], prefix: str) -> None:
    client, creds = _client(monkeypatch, env)
    signer = Signer.learn(client, creds, "my-bucket", prefix, 900)
    assert signer is not None
    for key in ("files/md5/ab/cdef0123", "runs/0a/1b2c", "exps/a b+c~d"):
        theirs = client.generate_presigned_url(
            "put_object", Params={"Bucket": "my-bucket", "Key": prefix + key, "ContentMD5": MD5}, ExpiresIn=900)
        assert signer.url(prefix + key, MD5, WHEN) == theirs


def test_other_credentials_than_the_clients_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.credentials import Credentials  # type: ignore[import-untyped]

    client, _ = _client(monkeypatch, {"AWS_DEFAULT_REGION": "us-east-1"})
    assert Signer.learn(client, Credentials("AKIDEXAMPLE", "another secret"), "my-bucket", "", 900) is None

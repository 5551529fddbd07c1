"""The no-op push confirms the remote's gc epoch with one signed GET and no s3fs; anything
it cannot confirm (a gc, no epoch yet) goes through s3fs as before."""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import pytest

from tests.fixtures.project import run_cli
from tests.remote.conftest import add_remote, working_copy

pytestmark = pytest.mark.s3


def test_signature_matches_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same request signed by botocore's own SigV4 signer, at the same instant, gives the same header."""
    from botocore.auth import S3SigV4Auth  # type: ignore[import-untyped]
    from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
    from botocore.credentials import Credentials  # type: ignore[import-untyped]

    from pivot.remote.s3_epoch import _sign

    when = datetime.datetime(2026, 11, 27, 1, 2, 3, tzinfo=datetime.UTC)
    path = "/my-bucket/a%20b/meta/gc-epoch"
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: when)
    for token in (None, "session-token"):
        ours = _sign("127.0.0.1:9000", path, "AKID", "secret/key", "eu-west-1", token, now=when)
        request = AWSRequest(method="GET", url=f"http://127.0.0.1:9000{path}",
                             headers={"x-amz-content-sha256": ours["x-amz-content-sha256"]})
        signer = S3SigV4Auth(Credentials("AKID", "secret/key", token), "s3", "eu-west-1")
        signer.add_auth(request)
        assert ours["Authorization"] == request.headers["Authorization"]


def _imports_s3fs(result_err: str) -> bool:
    return re.search(r"\| +s3fs(\.core)?$", result_err, re.MULTILINE) is not None


def test_noop_push_confirms_the_epoch_without_s3fs(origin: Path, tmp_path: Path, s3_bucket: str) -> None:
    from pivot.cache.odb import ObjectStore
    from pivot.remote.store import EPOCH_RECORD

    a = working_copy(origin, tmp_path / "a")
    url = s3_bucket + "/store"
    add_remote(a, url)
    run_cli(a, "push")
    epoch = ObjectStore(url).get_record(EPOCH_RECORD)
    assert epoch  # the first push gave the remote an epoch
    timed = {"PYTHONPROFILEIMPORTTIME": "1"}
    again = run_cli(a, "push", "--json", env=timed)
    assert again.json()["transferred"] == 0 and not _imports_s3fs(again.err)
    # A teammate's gc: new epoch, an object gone. The light GET sees another epoch, so
    # the index is dropped and the lost object is listed as missing and sent again.
    store = ObjectStore(url)
    lost = next(iter(store.stat_keys("files")))
    store.fs.rm(f"{url.removeprefix('s3://')}/{lost}")
    store.put_record(EPOCH_RECORD, b"a teammate's gc")
    repaired = run_cli(a, "push", "--json", env=timed)
    assert repaired.json()["transferred"] == 1 and _imports_s3fs(repaired.err)


def test_without_env_credentials_push_asks_through_s3fs(origin: Path, tmp_path: Path, s3_bucket: str) -> None:
    """Credentials the light path cannot see (here: a shared credentials file) fall back."""
    a = working_copy(origin, tmp_path / "a")
    add_remote(a, s3_bucket + "/store")
    run_cli(a, "push")
    creds = tmp_path / "credentials"
    creds.write_text("[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env |= {"AWS_SHARED_CREDENTIALS_FILE": str(creds), "PYTHONPROFILEIMPORTTIME": "1"}
    import subprocess

    from tests.fixtures.project import PIVOT

    proc = subprocess.run([*PIVOT, "push", "--json"], cwd=a, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert _imports_s3fs(proc.stderr)

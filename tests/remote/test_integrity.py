"""A tampered remote object is reported by name and never reaches the cache or workspace."""

from __future__ import annotations

import os
from pathlib import Path

from pivot.cache.layout import object_key
from pivot.lockfile import read
from tests.fixtures.project import run_cli
from tests.remote.conftest import add_remote, clone, working_copy


def _tamper(url: str, key: str) -> None:
    if url.startswith("file://"):
        path = Path(url.removeprefix("file://")) / key
        os.chmod(path, 0o644)
        path.write_bytes(b"evil bytes\n")
        return
    import boto3  # type: ignore[import-untyped]

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    boto3.client("s3").put_object(Bucket=bucket, Key=f"{prefix}/{key}", Body=b"evil bytes\n")


def test_tampered_object_is_detected_on_pull(origin: Path, tmp_path: Path, remote_url: str) -> None:
    a = working_copy(origin, tmp_path / "a")
    add_remote(a, remote_url)
    run_cli(a, "push")
    lock = read(a / ".pivot" / "stages" / "prep" / "clean.lock")
    assert lock is not None
    key = object_key(lock.outs[0].digest)
    _tamper(remote_url, key)

    b = clone(a, tmp_path / "b")
    result = run_cli(b, "pull", check=False)
    assert result.code == 1
    assert "prep/clean.txt" in result.err and key in result.err and "corrupt" in result.err
    assert not (b / "prep" / "clean.txt").exists()
    assert not (b / ".pivot" / "cache" / key).exists()
    assert (b / "prep" / "split" / "train.txt").exists()  # the sound objects still arrived
    again = run_cli(b, "repro", "--pull", "--json", check=False)
    assert again.code == 1 and key in again.err  # repro refuses to start on a corrupt remote

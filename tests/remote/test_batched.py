"""Batched S3 transfers (pivot.remote.batch) on the moto server: which requests they make,
and that their shortcuts keep every integrity rule.

The S3 client is the real one; a spy on s3fs's request method only counts the calls."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pivot
from pivot.cache.layout import object_key
from pivot.digest import hash_bytes
from pivot.remote.batch import pool_options
from tests.fixtures.project import run_cli
from tests.remote.conftest import add_remote

pytestmark = pytest.mark.s3
SMALL_FILES = 40
BIG = 3 << 20  # above the size hashed off the event loop


def _data_project(root: Path, n: int = SMALL_FILES) -> Path:
    """The same bytes every time: two such projects share every object."""
    root.mkdir(parents=True)
    run_cli(root, "init")
    many = root / "data" / "many"
    many.mkdir(parents=True)
    for i in range(n):
        (many / f"part_{i:03d}.txt").write_text(f"row {i}\n" * (i + 1))
    (root / "data" / "big.bin").write_bytes(bytes(range(256)) * (BIG // 256))
    run_cli(root, "track", "data/many")
    run_cli(root, "track", "data/big.bin")
    return root


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Every S3 operation s3fs sends from this process, by name."""
    import s3fs

    seen: Counter[str] = Counter()
    real = s3fs.S3FileSystem._call_s3

    async def spy(self: Any, method: Any, *args: Any, **kwargs: Any) -> Any:
        seen[method if isinstance(method, str) else getattr(method, "__name__", str(method))] += 1
        return await real(self, method, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_call_s3", spy)
    yield seen


class Bytes:
    def __init__(self) -> None:
        self.total = self.moved = 0

    def add_total(self, objects: int, nbytes: int) -> None:
        self.total += nbytes

    def advance(self, nbytes: int) -> None:
        self.moved += nbytes


def test_push_lists_once_and_a_noop_push_sends_nothing(tmp_path: Path, s3_bucket: str,
                                                       calls: Counter[str]) -> None:
    a = _data_project(tmp_path / "a")
    add_remote(a, f"{s3_bucket}/c")
    bar = Bytes()
    first = pivot.push(root=a, progress=bar)
    objects = SMALL_FILES + 2  # the files, the big one and the folder's manifest
    assert first.transferred == objects and not first.errors
    assert calls["put_object"] == objects + 1  # + the remote's first gc epoch (see store.sync_index)
    # Existence comes from listings, one per wanted "xx/" folder, never a HEAD per object
    # (a few fixed ones: the manifest checked on its own, empty listings of runs/ and meta/).
    folders = {hash_bytes(p.read_bytes()).hex[:2] for p in (a / "data").rglob("*") if p.is_file()}
    assert calls["head_object"] <= 3
    assert calls["list_objects_v2"] <= len(folders) + 2
    assert bar.moved == first.nbytes == bar.total > BIG  # progress counts the bytes moved

    calls.clear()
    assert pivot.push(root=a).transferred == 0
    assert calls["put_object"] == 0 and calls["head_object"] <= 3 and calls["list_objects_v2"] <= 3

    calls.clear()  # --verify ignores the index and asks the remote: by listing, still no PUT
    assert pivot.push(root=a, verify=True).transferred == 0
    assert calls["put_object"] == 0 and calls["head_object"] <= 3


def test_objects_pushed_by_someone_else_are_seen(tmp_path: Path, s3_bucket: str, calls: Counter[str]) -> None:
    a, b = _data_project(tmp_path / "a"), _data_project(tmp_path / "b")
    for root in (a, b):
        add_remote(root, f"{s3_bucket}/c")
    assert pivot.push(root=a).transferred == SMALL_FILES + 2
    calls.clear()
    report = pivot.push(root=b)  # b's index is empty: only the listing can know
    assert report.transferred == 0 and not report.errors and not report.missing
    assert calls["put_object"] == 0


def _tamper(bucket_url: str, key: str, data: bytes) -> None:
    import boto3  # type: ignore[import-untyped]

    bucket = bucket_url.removeprefix("s3://")
    boto3.client("s3").put_object(Bucket=bucket, Key=f"c/{key}", Body=data)


def _clone(src: Path, dest: Path) -> Path:
    """What git carries: the .pvt files and the config, no data and no cache."""
    for pvt in src.rglob("*.pvt"):
        target = dest / pvt.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pvt, target)
    (dest / ".pivot").mkdir(parents=True)
    shutil.copyfile(src / ".pivot" / "config.yaml", dest / ".pivot" / "config.yaml")
    return dest


@pytest.mark.parametrize("victim", ["big", "small"])
def test_a_corrupt_object_is_refused_on_pull(tmp_path: Path, s3_bucket: str, victim: str) -> None:
    a = _data_project(tmp_path / "a")
    add_remote(a, f"{s3_bucket}/c")
    run_cli(a, "push")
    path = a / "data" / ("big.bin" if victim == "big" else "many/part_007.txt")
    good = path.read_bytes()
    key = object_key(hash_bytes(good))
    evil = bytearray(good)
    evil[len(evil) // 2] ^= 0xFF  # same size, one byte flipped
    _tamper(s3_bucket, key, bytes(evil))

    b = _clone(a, tmp_path / "b")
    result = run_cli(b, "pull", check=False)
    assert result.code == 1 and "corrupt" in result.err and key in result.err
    assert not (b / ".pivot" / "cache" / key).exists()  # never visible in the cache
    assert not (b / path.relative_to(a)).exists()
    leftovers = [p for p in (b / ".pivot" / "tmp").rglob("*") if p.is_file()]
    assert leftovers == []  # the rejected download was removed
    if victim == "big":  # the sound objects still arrived and were checked out
        assert (b / "data" / "many" / "part_007.txt").read_bytes() == (a / "data" / "many" / "part_007.txt").read_bytes()
    cached = [p for p in (b / ".pivot" / "cache" / "files").rglob("*") if p.is_file()]
    assert cached and all(os.stat(p).st_mode & 0o222 == 0 for p in cached)  # read-only, as the store makes them


def test_pull_moves_each_object_once_without_heads(tmp_path: Path, s3_bucket: str, calls: Counter[str]) -> None:
    a = _data_project(tmp_path / "a")
    add_remote(a, f"{s3_bucket}/c")
    run_cli(a, "push")
    b = _clone(a, tmp_path / "b")
    calls.clear()
    bar = Bytes()
    report = pivot.pull(root=b, progress=bar)
    assert report.transferred == SMALL_FILES + 2 and not report.errors
    # One GET per object (+ the manifest read to expand the folder, the gc epoch); no HEAD per object.
    assert calls["get_object"] <= SMALL_FILES + 4 and calls["head_object"] <= 3
    assert (b / "data" / "big.bin").read_bytes() == (a / "data" / "big.bin").read_bytes()
    assert bar.moved >= BIG
    calls.clear()
    assert pivot.pull(root=b).transferred == 0  # a no-op pull downloads nothing
    assert calls["get_object"] <= 2  # at most the manifests' reads and the gc epoch


def test_pool_options_size_the_s3_connection_pool() -> None:
    assert pool_options("s3://b/c", {}, 64)["config_kwargs"] == {"max_pool_connections": 64}
    mine = pool_options("s3://b/c", {"config_kwargs": {"max_pool_connections": 8}}, 64)
    assert mine["config_kwargs"] == {"max_pool_connections": 8}  # the user's choice wins
    assert pool_options("gs://b/c", {"x": 1}, 64) == {"x": 1}


def test_download_into_a_cache_that_is_itself_on_s3(tmp_path: Path, s3_bucket: str) -> None:
    """refetch on a cluster: the "local" cache is a URL; its writes must leave the event loop."""
    import boto3

    from pivot.cache.odb import ObjectStore
    from pivot.remote.store import Remote
    from pivot.state import MemoryState

    other = f"pivot-cache-{tmp_path.name[-8:].lower().replace('_', '-')}"
    boto3.client("s3").create_bucket(Bucket=other)
    source = Remote("origin", f"{s3_bucket}/c", MemoryState())
    blobs = [f"blob {i}\n".encode() * (i + 1) for i in range(12)] + [b"x" * (2 << 20)]
    digests = [source.odb.put_bytes(b) for b in blobs]
    cache = ObjectStore(f"s3://{other}/cache", storage_options={"use_listings_cache": False})
    assert source.download(cache, digests, tmp_path / "tmp") == []
    assert all(cache.get_bytes(d) == b for d, b in zip(digests, blobs, strict=True))

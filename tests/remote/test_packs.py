"""Packs (pivot.remote.packs): many small objects pushed in one request, pulled back verified,
seen by another clone, by `verify --allow-missing` and by a remote gc — on the moto S3 server.

The S3 client is the real one; a spy on s3fs's request method only counts the calls."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

import pivot
from pivot.cache.layout import object_key
from pivot.digest import Digest, hash_bytes
from pivot.remote.pack_format import HEADER, MAGIC, PackError, build, head_size, name_of, parse_head
from pivot.remote.packs import MIN_OBJECTS
from pivot.remote.store import Remote
from pivot.state import MemoryState
from tests.fixtures.project import run_cli
from tests.remote.conftest import add_remote
from tests.remote.test_batched import Bytes, _clone, _data_project, calls  # noqa: F401  (calls: a fixture)

pytestmark = pytest.mark.s3
MANY = MIN_OBJECTS + 16


def _project(root: Path, n: int = MANY) -> Path:
    """``n`` small files and a 3 MiB one (above PACKABLE: loose), the same bytes every time."""
    return _data_project(root, n)


def _bucket_keys(bucket_url: str, prefix: str) -> dict[str, int]:
    import boto3  # type: ignore[import-untyped]

    bucket = bucket_url.removeprefix("s3://")
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}


def _pack_keys(bucket_url: str) -> list[str]:
    return sorted(k for k in _bucket_keys(bucket_url, "c/packs/"))


def test_many_small_objects_go_up_in_one_pack_and_come_back_verified(
        tmp_path: Path, s3_bucket: str, calls: Counter[str]) -> None:  # noqa: F811
    a = _project(tmp_path / "a")
    add_remote(a, f"{s3_bucket}/c")
    bar = Bytes()
    report = pivot.push(root=a, progress=bar)
    assert report.transferred == MANY + 2 and not report.errors  # the files, big.bin, the manifest
    # One PUT for every small file together, one for big.bin, one for the manifest, one gc epoch.
    assert calls["put_object"] == 4
    assert len(_pack_keys(s3_bucket)) == 1
    loose = _bucket_keys(s3_bucket, "c/files/")
    assert len(loose) == 2  # big.bin and the folder's manifest (manifests are never packed)
    assert bar.moved == report.nbytes

    calls.clear()
    assert pivot.push(root=a).transferred == 0
    assert calls["put_object"] == 0

    b = _clone(a, tmp_path / "b")  # a fresh clone: knows nothing of the remote
    calls.clear()
    pulled = pivot.pull(root=b)
    assert pulled.transferred == MANY + 2 and not pulled.errors and not pulled.missing
    # The pack in one GET (plus its head read once, the manifest, big.bin): not one per file.
    assert calls["get_object"] <= 6
    for path in [*sorted((a / "data" / "many").iterdir()), a / "data" / "big.bin"]:
        if path.is_file():
            assert (b / path.relative_to(a)).read_bytes() == path.read_bytes()
    cached = [p for p in (b / ".pivot" / "cache" / "files").rglob("*") if p.is_file()]
    assert len(cached) == MANY + 2 and all(os.stat(p).st_mode & 0o222 == 0 for p in cached)

    c = _project(tmp_path / "c")  # the same bytes in another project: its listing finds the pack
    add_remote(c, f"{s3_bucket}/c")
    calls.clear()
    assert pivot.push(root=c).transferred == 0
    assert calls["put_object"] == 0
    status = run_cli(_clone(a, tmp_path / "d"), "status", "--remote", "--json").json()
    assert status["to_pull"] == MANY + 2 and status["to_push"] == 0  # packed objects count as there

    # What `verify --allow-missing` asks: the remote itself, with no index.
    remote = Remote("origin", f"{s3_bucket}/c", MemoryState())
    assert remote.available(hash_bytes((a / "data" / "many" / "part_003.txt").read_bytes()), is_dir=False)
    tree = Digest.parse(str(yaml.safe_load((a / "data" / "many.pvt").read_text())["hash"]))
    assert remote.available(tree, is_dir=True)  # a loose manifest whose files are all packed
    assert not remote.available(hash_bytes(b"never pushed"), is_dir=False)


def test_few_small_objects_stay_loose(tmp_path: Path, s3_bucket: str) -> None:
    a = _project(tmp_path / "a", n=MIN_OBJECTS - 1)
    add_remote(a, f"{s3_bucket}/c")
    assert pivot.push(root=a).transferred == MIN_OBJECTS + 1
    assert _pack_keys(s3_bucket) == []


def _rewrite_pack(bucket_url: str, edit: object) -> str:
    import boto3

    (key,) = _pack_keys(bucket_url)
    bucket = bucket_url.removeprefix("s3://")
    client = boto3.client("s3")
    data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    client.put_object(Bucket=bucket, Key=key, Body=edit(data))  # type: ignore[operator]
    return key.removeprefix("c/")


def test_a_corrupt_object_in_a_pack_is_refused_and_the_rest_arrive(tmp_path: Path, s3_bucket: str) -> None:
    a = _project(tmp_path / "a")
    add_remote(a, f"{s3_bucket}/c")
    run_cli(a, "push")
    victim = a / "data" / "many" / "part_007.txt"
    good = victim.read_bytes()

    def flip(data: bytes) -> bytes:
        at = data.index(good) + len(good) // 2  # one byte inside that object, same size
        return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]

    pack = _rewrite_pack(s3_bucket, flip)
    b = _clone(a, tmp_path / "b")
    result = run_cli(b, "pull", check=False)
    key = object_key(hash_bytes(good))
    assert result.code == 1 and "corrupt" in result.err and key in result.err and pack in result.err
    assert "Traceback" not in result.err
    assert not (b / ".pivot" / "cache" / key).exists()  # never visible in the cache
    other = a / "data" / "many" / "part_008.txt"
    assert (b / ".pivot" / "cache" / object_key(hash_bytes(other.read_bytes()))).exists()
    assert (b / "data" / "big.bin").read_bytes() == (a / "data" / "big.bin").read_bytes()
    assert [p for p in (b / ".pivot" / "tmp").rglob("*") if p.is_file()] == []


def test_a_pack_whose_index_lies_is_ignored_by_name(tmp_path: Path, s3_bucket: str) -> None:
    a = _project(tmp_path / "a")
    add_remote(a, f"{s3_bucket}/c")
    run_cli(a, "push")

    def lie(data: bytes) -> bytes:  # claims one object is 1 GiB: offsets would leave the pack
        end = head_size(data[:HEADER])
        rows = json.loads(data[HEADER:end])
        rows[0][1] = 1 << 30
        index = json.dumps(rows, separators=(",", ":")).encode()
        return MAGIC + f"{len(index):016d}\n".encode() + index + data[end:]

    pack = _rewrite_pack(s3_bucket, lie)
    b = _clone(a, tmp_path / "b")
    result = run_cli(b, "pull", check=False)
    assert result.code != 0 and "Traceback" not in result.err
    assert pack in result.err and "accounts for" in result.err  # named, with what is wrong
    assert not (b / "data" / "many").exists()  # nothing half-placed from a pack not trusted
    assert (b / "data" / "big.bin").read_bytes() == (a / "data" / "big.bin").read_bytes()


def test_remote_gc_removes_a_pack_only_when_none_of_its_objects_is_kept(tmp_path: Path, s3_bucket: str) -> None:
    a = _project(tmp_path / "a")
    add_remote(a, f"{s3_bucket}/c")
    run_cli(a, "push")
    run_cli(a, "config", "set", "gc.grace", "0")
    (pack,) = _pack_keys(s3_bucket)

    # One packed file changed: the new version goes loose; the old pack still holds live objects.
    (a / "data" / "many" / "part_000.txt").write_text("changed\n")
    run_cli(a, "track", "--force", "data/many")
    run_cli(a, "push")
    kept = run_cli(a, "gc", "--workspace", "--remote", "origin", "-f", "--json").json()
    assert kept["packs_removed"] == [] and _pack_keys(s3_bucket) == [pack]

    shutil.rmtree(a / "data" / "many")  # nothing of the pack is referenced any more
    (a / "data" / "many.pvt").unlink()
    gone = run_cli(a, "gc", "--workspace", "--remote", "origin", "-f", "--json").json()
    assert gone["packs_removed"] == [name_of(pack)]
    assert _pack_keys(s3_bucket) == []
    removed = {d["digest"] for d in gone["removed"]}
    assert str(hash_bytes((tmp_path / "a" / "data" / "big.bin").read_bytes())) not in removed
    assert len(removed) >= MANY  # the pack's objects are reported with it
    b = _clone(a, tmp_path / "b")
    assert not run_cli(b, "pull", "--json").json()["errors"]  # what is still referenced is whole


# -- the format, on its own ---------------------------------------------------------------
def _objects(n: int) -> list[tuple[Digest, bytes]]:
    return [(hash_bytes(b), b) for b in (f"object {i}\n".encode() * (i + 1) for i in range(n))]


def test_a_pack_reads_back_what_was_put_in() -> None:
    objects = _objects(5)
    name, data = build(objects)
    assert name == hash_bytes(data).hex and name_of(f"c/packs/{name}.pack") == name
    index = parse_head(name, data, len(data))
    for d, blob in objects:
        e = index.entries[d]
        assert data[e.offset:e.offset + e.size] == blob


@pytest.mark.parametrize("damage", [
    lambda d: b"NOTAPACK00" + d[10:],  # not our header
    lambda d: d[:len(MAGIC)] + b"00000000000000x2" + d[HEADER - 1:],  # length not digits
    lambda d: d[:len(MAGIC)] + b"9999999999999999" + d[HEADER - 1:],  # an index larger than any pack
    lambda d: d + b"trailing",  # sizes no longer add up to the pack's length
    lambda d: d.replace(b'"xxh3_128:', b'"../../x:', 1),  # a digest that is a path
    lambda d: d.replace(b"],[", b",-5],[", 1),  # an entry of the wrong shape
    lambda d: d[:HEADER] + b"{" + d[HEADER + 1:],  # unreadable JSON
])
def test_a_damaged_head_is_refused(damage: object) -> None:
    name, data = build(_objects(3))
    bad = damage(data)  # type: ignore[operator]
    with pytest.raises(PackError):
        parse_head(name, bad, len(bad))


@pytest.mark.parametrize("key", ["packs/../files/x.pack", "packs/ABCDEF0123456789ABCDEF0123456789.pack",
                                 "packs/0123.pack", "packs/" + "0" * 32 + ".pack.tmp", "files/" + "0" * 32 + ".pack"])
def test_only_our_pack_names_are_read(key: str) -> None:
    assert name_of(key) is None


def test_a_remote_with_pack_false_keeps_every_object_loose(tmp_path: Path, s3_bucket: str) -> None:
    a = _project(tmp_path / "a")
    add_remote(a, f"{s3_bucket}/c")
    config = a / ".pivot" / "config.yaml"
    data = yaml.safe_load(config.read_text())
    data["remotes"]["origin"] = {"url": f"{s3_bucket}/c", "pack": "no"}
    config.write_text(yaml.safe_dump(data))
    bad = run_cli(a, "push", check=False)
    assert bad.code == 2 and "`pack` must be true or false" in bad.err and "Traceback" not in bad.err
    data["remotes"]["origin"]["pack"] = False
    config.write_text(yaml.safe_dump(data))
    assert pivot.push(root=a).transferred == MANY + 2
    assert _pack_keys(s3_bucket) == [] and len(_bucket_keys(s3_bucket, "c/files/")) == MANY + 2

"""One request per question to an object store, where fsspec's generic verbs spend two or three.

s3fs answers ``exists`` for a missing key with HEAD then LIST (is it a folder?), reads a
whole object with HEAD (its size) then GET, and ``open`` also starts with a HEAD. Objects
and records are never folders and their size is not needed up front, so on S3 these
verbs are one HEAD, one GET, one GET. Every other filesystem gets fsspec's own verbs.
Measured per stage of an isolated cluster run: issue 13, README "Isolated workers on S3".
"""

from __future__ import annotations

from typing import Any


def _s3(fs: Any) -> bool:
    return type(fs).__name__ == "S3FileSystem" and hasattr(fs, "call_s3") and hasattr(fs, "split_path")


def head(fs: Any, path: str) -> bool:
    """Whether the object exists: one HEAD on S3 (no folder probe)."""
    if not _s3(fs):
        return bool(fs.exists(path))
    bucket, key, _ = fs.split_path(path)
    try:
        fs.call_s3("head_object", Bucket=bucket, Key=key)
    except FileNotFoundError:
        return False
    return True


def cat(fs: Any, path: str) -> bytes:
    """The whole object in one GET on S3 (no size probe); FileNotFoundError when missing."""
    if not _s3(fs):
        data: bytes = fs.cat_file(path)
        return data
    from fsspec.asyn import sync

    bucket, key, _ = fs.split_path(path)

    async def get() -> bytes:
        resp = await fs._call_s3("get_object", Bucket=bucket, Key=key)
        try:
            body: bytes = await resp["Body"].read()
            return body
        finally:
            resp["Body"].close()

    out: bytes = sync(fs.loop, get)
    return out


def download(fs: Any, path: str, local: str) -> None:
    """Copy the object to a local file: s3fs's get_file is one GET (parts only for big objects)."""
    if _s3(fs):
        fs.get_file(path, local)
        return
    with fs.open(path, "rb") as src, open(local, "wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)


def list_page(fs: Any, prefix: str, limit: int = 1000) -> list[str] | None:
    """Every key under ``prefix`` when one LIST request holds them all; None when there are
    more (or the store is not S3): then asking key by key is cheaper than paging through."""
    if not _s3(fs):
        return None
    bucket, key, _ = fs.split_path(prefix.rstrip("/") + "/")
    resp = fs.call_s3("list_objects_v2", Bucket=bucket, Prefix=key, MaxKeys=limit)
    if resp.get("IsTruncated"):
        return None
    return [f"{bucket}/{o['Key']}" for o in resp.get("Contents", [])]

"""The floor for push / pull: the same files moved by one s3fs client, batched, no bookkeeping.

usage: python -m tests.benchmarks.raw_s3 put|get LOCAL_DIR s3://bucket/prefix [CONCURRENCY]
One async S3FileSystem on fsspec's loop; every file is one ``_put_file`` / ``_get_file``
coroutine, all gathered under one semaphore. No existence checks, no hashing, no cache,
no index: only the requests themselves. ``get`` writes into LOCAL_DIR (which must not exist).
The file set is whatever lies under LOCAL_DIR (put) or under the prefix (get).
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
import time
from typing import Any


async def _gather(pairs: list[tuple[str, str]], fn: Any, concurrency: int) -> None:
    sem = asyncio.Semaphore(concurrency)

    async def one(src: str, dst: str) -> None:
        async with sem:
            await fn(src, dst)

    await asyncio.gather(*(one(s, d) for s, d in pairs))


def main(op: str, local: pathlib.Path, url: str, concurrency: int) -> None:
    import fsspec.asyn
    import s3fs

    # As many pooled connections as requests in flight (aiobotocore keeps 10 by default).
    fs = s3fs.S3FileSystem(skip_instance_cache=True, config_kwargs={"max_pool_connections": concurrency})
    base = url.removeprefix("s3://").rstrip("/")
    t0 = time.perf_counter()
    if op == "put":
        files = sorted(p for p in local.rglob("*") if p.is_file() and not p.name.startswith("."))
        pairs = [(str(p), f"{base}/{p.relative_to(local).as_posix()}") for p in files]
        fsspec.asyn.sync(fs.loop, _gather, pairs, fs._put_file, concurrency)
    else:
        keys = fs.find(base)
        dirs = {os.path.dirname(k[len(base) + 1 :]) for k in keys}
        for d in dirs:
            (local / d).mkdir(parents=True, exist_ok=True)
        pairs = [(k, str(local / k[len(base) + 1 :])) for k in keys]
        fsspec.asyn.sync(fs.loop, _gather, pairs, fs._get_file, concurrency)
    print(f"raw s3fs {op}: {len(pairs)} files in {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main(sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 64)

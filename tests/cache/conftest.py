"""Object-store fixtures: every contract test runs once per backend.

Backends: a local folder (file://), fsspec's memory://, and S3 on a moto
server bound to 127.0.0.1 (one server per session, one bucket per test).
Add a backend by adding a parameter to ``store``; the tests need nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest

from pivot.cache.odb import ObjectStore


def _memory_url() -> str:
    return f"memory://pivot-test-{uuid.uuid4().hex}"


def _drop_memory(url: str) -> None:
    fs = fsspec.filesystem("memory")
    root = url.removeprefix("memory://")
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.fixture(scope="session")
def s3_options() -> Iterator[dict[str, Any]]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": f"http://{host}:{port}"},
        "config_kwargs": {"request_checksum_calculation": "when_required"},
    }
    server.stop()


def _s3_store(options: dict[str, Any]) -> ObjectStore:
    import s3fs

    bucket = f"pivot-{uuid.uuid4().hex[:16]}"
    s3fs.S3FileSystem(**options).mkdir(bucket)
    return ObjectStore(f"s3://{bucket}/cache", storage_options=options)


@pytest.fixture(params=["file", "memory", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "file":
        yield ObjectStore(f"file://{tmp_path / 'cache'}")
    elif request.param == "s3":
        yield _s3_store(request.getfixturevalue("s3_options"))
    else:
        url = _memory_url()
        yield ObjectStore(url)
        _drop_memory(url)


@pytest.fixture
def local_store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "cache"))


@pytest.fixture
def memory_store() -> Iterator[ObjectStore]:
    url = _memory_url()
    yield ObjectStore(url)
    _drop_memory(url)

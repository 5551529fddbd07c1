"""Fixtures for the reliability catalogue: one template project per session, and
TCP servers on 127.0.0.1 that are not Dask schedulers."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.harness import build_template
from tests.reliability.sandbox import Box


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("template"))


class FakeServer:
    """Accepts connections on 127.0.0.1; sends ``greeting`` (garbage) or nothing at all."""

    def __init__(self, greeting: bytes | None) -> None:
        self.greeting = greeting
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self._held.append(conn)  # kept open: a silent server never answers, never closes
            if self.greeting is not None:
                with contextlib.suppress(OSError):  # the client may hang up first
                    conn.sendall(self.greeting)

    def close(self) -> None:
        self._stop.set()
        self.thread.join()
        for conn in self._held:
            conn.close()
        self.sock.close()


@pytest.fixture(scope="session")
def garbage_server() -> Iterator[FakeServer]:
    # Eight 0xff bytes read as a frame length are ~1.8e19: "allocate exabytes".
    server = FakeServer(b"\xff" * 64 + b"HTTP/1.1 400 Bad Request\r\n\r\n")
    yield server
    server.close()


@pytest.fixture(scope="session")
def silent_server() -> Iterator[FakeServer]:
    server = FakeServer(None)
    yield server
    server.close()


@pytest.fixture(scope="session")
def refused_port() -> int:
    """A port nothing listens on (bound once, then closed)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def box_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two-stage project the hostile-path and tampered-object cases start from."""
    from tests.reliability.sandbox import build_template as build_box_template

    return build_box_template(tmp_path_factory.mktemp("box-template"))


@pytest.fixture
def box(box_template: Path, tmp_path: Path) -> Box:
    return Box(box_template, tmp_path)

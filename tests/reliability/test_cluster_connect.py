"""A cluster handshake is bounded: refused fails at once, silent within
cluster.connect_timeout, a port that is not a Dask scheduler is recognised
before distributed reads a frame length from it (issue 11)."""

from __future__ import annotations

import time

import pytest

from pivot.errors import ConfigError
from pivot.executor import connect
from pivot.project.config import Config
from tests.reliability.conftest import FakeServer


@pytest.mark.parametrize("text", ["tcp://127.0.0.1:8786", "127.0.0.1:8786", "tls://sched.example:443",
                                  "tcp://[::1]:8786"])
def test_good_addresses_parse(text: str) -> None:
    addr = connect.parse(text, "--cluster")
    assert addr.port in (8786, 443)


@pytest.mark.parametrize("text", ["garbage", "tcp://host", "tcp://:8786", "tcp://h:0", "tcp://h:99999",
                                  "http://h:80", "tcp://a b:1", "tcp://h:80/path", ""])
def test_bad_addresses_name_their_source(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^PIVOT_CLUSTER: "):
        connect.parse(text, "PIVOT_CLUSTER")


def test_timeout_config() -> None:
    assert connect.timeout(Config({})) == connect.DEFAULT_TIMEOUT
    assert connect.timeout(Config({"cluster": {"connect_timeout": 2.5}})) == 2.5
    for bad in ("soon", 0, -1, None, [1]):
        with pytest.raises(ConfigError, match=r"cluster\.connect_timeout"):
            connect.timeout(Config({"cluster": {"connect_timeout": bad}}))


def test_refused_fails_within_two_seconds(refused_port: int) -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="Connection refused"):
        connect.probe(connect.parse(f"tcp://127.0.0.1:{refused_port}", "--cluster"), 10)
    assert time.perf_counter() - started < 2


def test_silent_port_fails_within_the_timeout(silent_server: FakeServer) -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"no Dask handshake within 0\.5 s"):
        connect.probe(connect.parse(silent_server.address, "--cluster"), 0.5)
    assert time.perf_counter() - started < 1.5


def test_garbage_is_not_a_scheduler(garbage_server: FakeServer) -> None:
    with pytest.raises(ConfigError, match="is not a Dask scheduler"):
        connect.open_client(garbage_server.address, 5)


def test_a_real_scheduler_passes_the_probe() -> None:
    import asyncio

    from distributed import Scheduler

    async def main() -> None:
        async with Scheduler(host="127.0.0.1", port=0, dashboard_address=None) as scheduler:
            addr = connect.parse(scheduler.address, "--cluster")
            await asyncio.get_running_loop().run_in_executor(None, connect.probe, addr, 5)

    asyncio.run(main())

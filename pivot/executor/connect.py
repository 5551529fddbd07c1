"""Reaching a Dask scheduler: check the address, probe the port, then connect.

Each step is bounded by ``cluster.connect_timeout`` (default 10 s) and fails
with one line naming where the address came from. The probe exists because
distributed trusts the first eight bytes it reads as a frame length: a port
that is not a Dask scheduler (an HTTP server, a database) makes it try to
allocate exabytes, a silent port makes it wait, and a refused one makes it
retry until its own 20 s timeout.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Any

from pivot.errors import ConfigError

DEFAULT_TIMEOUT = 10.0
SCHEMES = ("tcp", "tls")
_MAX_HANDSHAKE = 1 << 20  # a scheduler's handshake is a few hundred bytes
_USE = "use 'local' or tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786)"


@dataclass(frozen=True)
class Address:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse(address: str, source: str) -> Address:
    """``HOST:PORT`` or ``SCHEME://HOST:PORT``; ``source`` names where it came from in errors."""
    text = address.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    if scheme not in SCHEMES:
        raise ConfigError(f"{source}: {address!r}: unknown scheme {scheme!r}; {_USE}", path=source)
    host, colon, port = rest.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if (not colon or not host or not port.isdigit() or not 0 < int(port) < 65536
            or any(c.isspace() or c in "/?#@[]" for c in host)):
        raise ConfigError(f"{source}: {address!r} is not a scheduler address; {_USE}", path=source)
    return Address(scheme, host, int(port))


def timeout(config: Any) -> float:
    raw = config.get("cluster.connect_timeout", DEFAULT_TIMEOUT)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if not value > 0:
        raise ConfigError(f"cluster.connect_timeout {raw!r}: expected a number of seconds > 0",
                          path="cluster.connect_timeout")
    return value


def probe(addr: Address, seconds: float) -> None:
    """Raise a ConfigError unless a Dask scheduler answers at ``addr`` within ``seconds``."""
    try:
        sock = socket.create_connection((addr.host, addr.port), timeout=seconds)
    except TimeoutError as exc:
        raise _unreachable(addr, f"no connection within {seconds:g} s (cluster.connect_timeout)") from exc
    except OSError as exc:
        raise _unreachable(addr, exc.strerror or str(exc)) from exc
    with sock:
        if addr.scheme != "tcp":
            return  # TLS speaks first from the client side: the TCP connection is all we can check
        sock.settimeout(seconds)
        try:
            header = _read(sock, 8)
            (size,) = struct.unpack("=Q", header)
            if not 0 < size <= _MAX_HANDSHAKE:
                raise ConfigError(f"{addr} is not a Dask scheduler (it answered {header!r}, not a Dask handshake); "
                                  "check the port (a scheduler listens on 8786 by default)", path=str(addr))
            _read(sock, size)
        except TimeoutError as exc:
            raise ConfigError(f"{addr} accepted the connection but sent no Dask handshake within {seconds:g} s "
                              "(cluster.connect_timeout); is it a Dask scheduler?", path=str(addr)) from exc
        except OSError as exc:
            raise ConfigError(f"{addr} closed the connection without a Dask handshake ({exc}); "
                              "is it a Dask scheduler?", path=str(addr)) from exc


def open_client(address: str, seconds: float) -> Any:
    """A distributed.Client for an address already checked by ``parse``."""
    from distributed import Client

    addr = parse(address, "cluster address")
    probe(addr, seconds)
    try:
        return Client(str(addr), timeout=f"{seconds}s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise _unreachable(addr, str(exc)) from exc


def _unreachable(addr: Address, why: str) -> ConfigError:
    return ConfigError(f"cannot reach the Dask scheduler at {addr} ({why}); is the cluster running? "
                       "(cluster/status.sh)", path=str(addr))


def _read(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 65536))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)

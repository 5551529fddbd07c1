"""Retries, failure records and the thread pool every transfer uses.

Transient errors (timeouts, 5xx, throttling) are retried with backoff; a
missing or corrupt object is not: it becomes a Failure the caller reports.
"""

from __future__ import annotations

import os
import random
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pivot.cache.layout import object_key
from pivot.digest import Digest
from pivot.errors import CacheError, CorruptObjectError

T = TypeVar("T")
KILL_AFTER_ENV = "PIVOT_TEST_KILL_AFTER_UPLOADS"  # tests only: SIGKILL this process after N uploads
_TRANSIENT = re.compile(
    r"throttl|slow ?down|time(d)? ?out|internal ?error|service ?unavailable|connection (reset|aborted)"
    r"|temporar|\b(500|502|503|504)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Failure:
    digest: Digest
    error: str
    corrupt: bool = False
    missing: bool = False


def is_transient(exc: BaseException) -> bool:
    """Timeouts, 5xx and throttling are worth another try; a missing or corrupt object is not."""
    if isinstance(exc, FileNotFoundError | PermissionError | CacheError | ValueError):
        return False
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    return _TRANSIENT.search(f"{type(exc).__name__} {exc}") is not None


def retry(fn: Callable[[], T], *, attempts: int = 4, base_delay: float = 0.2) -> T:
    """Call ``fn``; on a transient error wait (exponential backoff, jitter) and try again."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            time.sleep(base_delay * 2 ** (attempt - 1) * (0.5 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


class KillSwitch:
    """Failure injection for the interrupted-push test: dies like SIGKILL, no cleanup."""

    def __init__(self) -> None:
        raw = os.environ.get(KILL_AFTER_ENV)
        self.limit = int(raw) if raw else None
        self.count = 0
        self.lock = threading.Lock()

    def tick(self) -> None:
        if self.limit is None:
            return
        with self.lock:
            self.count += 1
            if self.count >= self.limit:
                os.kill(os.getpid(), signal.SIGKILL)


def failure(d: Digest, exc: BaseException, url: str) -> Failure:
    if isinstance(exc, CorruptObjectError):
        return Failure(d, str(exc), corrupt=True)
    if isinstance(exc, FileNotFoundError) or (isinstance(exc, CacheError) and "missing" in str(exc)):
        return Failure(d, f"object {object_key(d)} is missing from {url}", missing=True)
    return Failure(d, f"{type(exc).__name__}: {exc}")

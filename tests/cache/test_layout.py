from __future__ import annotations

import pytest

from pivot.cache.layout import object_key, parse_object_key, parse_run_key, run_key
from pivot.digest import hash_bytes


def test_object_key_round_trips() -> None:
    d = hash_bytes(b"x")
    key = object_key(d)
    assert key == f"files/xxh3_128/{d.hex[:2]}/{d.hex[2:]}"
    assert parse_object_key(key) == d


def test_run_key_round_trips() -> None:
    assert run_key("abcdef") == "runs/ab/cdef"
    assert parse_run_key("runs/ab/cdef") == "abcdef"


@pytest.mark.parametrize(
    "key",
    ["files/xxh3_128/ab", "files/xxh3_128/abc/def", "tmp/abcd", "files/X/ab/cd", "files/a/ab/z!"],
)
def test_bad_object_keys_are_rejected(key: str) -> None:
    with pytest.raises(ValueError):
        parse_object_key(key)


def test_bad_run_key_input_is_rejected() -> None:
    with pytest.raises(ValueError):
        run_key("../etc")

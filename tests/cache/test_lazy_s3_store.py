"""An s3:// store opens s3fs on first use, and a small write does not use it (issue 13): an isolated worker whose deps ride in its
task and whose small outputs go back inline never pays s3fs's ~0.6 s of imports and session."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.s3

_SCRIPT = """
import sys
from pivot.cache.odb import ObjectStore
from pivot.digest import hash_bytes
store = ObjectStore(sys.argv[1] + "/cache/")
assert not store.is_local
assert "s3fs" not in sys.modules, "opening an s3:// store imported s3fs"
d = store.put_bytes(b"hello\\n")  # a small PUT needs botocore alone (cache/s3put.py), at s3fs's keys
assert "s3fs" not in sys.modules, "a small PUT imported s3fs"
import s3fs
assert s3fs.S3FileSystem().cat_file(sys.argv[1][5:] + "/cache/" + store._remote(
    __import__("pivot.cache.layout", fromlist=["object_key"]).object_key(d))[len(store._base) + 1:]) == b"hello\\n"
fresh = ObjectStore(sys.argv[1] + "/cache")
assert fresh.get_bytes(d) == b"hello\\n" and fresh.exists_many({d, hash_bytes(b"other")}) == {d}
"""


def test_s3_store_opens_s3fs_on_first_use(s3_bucket: str) -> None:
    done = subprocess.run([sys.executable, "-c", _SCRIPT, s3_bucket], env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

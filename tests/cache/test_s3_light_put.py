"""Small PUTs to a plain s3:// store go out signed by botocore and sent by urllib3 (cache/s3put.py),
at the keys s3fs would use; anything the light path cannot do falls back to s3fs (issue 13)."""

from __future__ import annotations

import pytest

from pivot.cache.layout import object_key
from pivot.cache.odb import ObjectStore
from pivot.digest import hash_bytes

pytestmark = pytest.mark.s3


def test_small_writes_skip_s3fs_and_land_where_s3fs_reads(s3_bucket: str,
                                                          s3_requests: list[tuple[str, str, str]]) -> None:
    store = ObjectStore(f"{s3_bucket}/cache")
    d = store.put_bytes(b"an output\n")
    store.put_record("runs/ab/cdef", b"a record\n")
    assert store._fs is None, "a small write opened s3fs"
    assert store._light is not None and store._light._signer is not None  # botocore's URL, signed by Pivot
    bucket = s3_bucket.removeprefix("s3://")
    assert [(m, p) for m, p, _ in s3_requests] == [("PUT", f"/{bucket}/cache/{object_key(d)}"),
                                                   ("PUT", f"/{bucket}/cache/runs/ab/cdef")]

    reader = ObjectStore(f"{s3_bucket}/cache")  # reads go through s3fs, verified against the digest
    assert reader.get_bytes(d) == b"an output\n"
    assert reader.get_record("runs/ab/cdef") == b"a record\n"
    assert reader.exists_many({d, hash_bytes(b"other")}) == {d}


def test_a_refused_put_turns_the_light_path_off_and_s3fs_stores_it(s3_bucket: str,
                                                                   s3_requests: list[tuple[str, str, str]]) -> None:
    store = ObjectStore(f"{s3_bucket}/cache")
    assert store._light is not None
    store._light.bucket = "pivot-no-such-bucket"  # the server refuses the light path's PUT (404)
    d = store.put_bytes(b"stored anyway\n")
    assert store._light.off
    assert store._fs is not None  # the full client took over, with the right credentials
    assert [m for m, _, _ in s3_requests] == ["PUT", "PUT"]  # the refused one, then s3fs's
    store.put_record("runs/ab/cdef", b"r")  # off for good in this store: no second refusal
    assert len(s3_requests) == 3
    assert ObjectStore(f"{s3_bucket}/cache").get_bytes(d) == b"stored anyway\n"


@pytest.mark.parametrize("env", [{"PIVOT_S3_LIGHT_PUT": "0"}, {"HTTPS_PROXY": "http://127.0.0.1:9"}],
                         ids=["switched-off", "proxy"])
def test_switch_or_proxy_keeps_s3fs(s3_bucket: str, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # s3fs itself still reaches moto directly
    store = ObjectStore(f"{s3_bucket}/cache")
    d = store.put_bytes(b"via s3fs\n")
    assert store._fs is not None
    assert ObjectStore(f"{s3_bucket}/cache").get_bytes(d) == b"via s3fs\n"


def test_the_run_cache_listing_needs_no_s3fs(s3_bucket: str, s3_requests: list[tuple[str, str, str]]) -> None:
    writer = ObjectStore(f"{s3_bucket}/cache")
    for i in range(3):
        writer.put_record(f"runs/a{i}/rest", b"r")
    writer.put_bytes(b"not a record")
    s3_requests.clear()
    store = ObjectStore(f"{s3_bucket}/cache")
    assert store.keys_in_one_page("runs") == {"runs/a0/rest", "runs/a1/rest", "runs/a2/rest"}
    assert store.keys_in_one_page("runs/") == {"runs/a0/rest", "runs/a1/rest", "runs/a2/rest"}
    assert store._fs is None and [m for m, _, _ in s3_requests] == ["GET", "GET"]  # one LIST each
    assert ObjectStore(f"{s3_bucket}/other").keys_in_one_page("runs") == set()


def test_a_listing_too_long_for_one_page_is_none(s3_bucket: str) -> None:
    store = ObjectStore(f"{s3_bucket}/cache")
    for i in range(3):
        store.put_record(f"runs/b{i}/rest", b"r")
    assert store._light is not None
    assert store._light.list_page("runs", limit=2) == (True, None)  # the caller asks key by key
    assert ObjectStore(f"{s3_bucket}/cache").get_record("runs/b2/rest") == b"r"


def test_a_kept_alive_connection_the_server_dropped_is_opened_again() -> None:
    """Real S3 keeps connections alive and drops idle ones: the next PUT on such a connection
    is sent again once on a new one (same bytes, same key), and the light path stays on."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from pivot.cache.s3put import LightPut

    bodies: list[bytes] = []

    class DropAfterReply(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the client is not told the connection will close

        def do_PUT(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), DropAfterReply)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        light = LightPut("bucket")
        url = f"http://127.0.0.1:{server.server_address[1]}/bucket/k"
        assert light._send(url, b"one", "md5") == (200, b"")
        assert light._send(url, b"two", "md5") == (200, b"")
        assert bodies == [b"one", b"two"] and not light.off
    finally:
        server.shutdown()
        server.server_close()

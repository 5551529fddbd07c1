"""Isolated workers with the cache on S3: a per-stage budget of S3 requests (issue 13).

The generated 30-stage shell project (tracked input, params files read by the commands,
foreach/matrix variants, fan-in) runs with `--cluster local` in isolated mode against
moto's server, whose every request is counted. Before the cut it cost ~19 requests a
stage (HEAD + LIST for each existence check, HEAD + GET for each read, a download of
every output the worker had just uploaded); now it is the output's PUT and the
run-record PUT (both from the planner, off its commit path: the worker sends small
outputs back with its result), plus one listing of the run cache per run. Outputs are byte-identical
to a local run.
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from tests.benchmarks import generator
from tests.fixtures.project import run_cli

pytestmark = [pytest.mark.s3, pytest.mark.cluster]
N = 30
PER_STAGE = 2  # PUT files/ (the output), PUT runs/ (the record)


def _project(root: Path) -> Path:
    generator.write_pivot(root, generator.plan(N, "shell"))
    run_cli(root, "init")
    run_cli(root, "track", generator.TRACKED_INPUT)
    return root


def _outputs(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.glob("p*/out/*"))}


def _kinds(requests: list[tuple[str, str, str]]) -> collections.Counter[str]:
    def kind(method: str, path: str, query: str) -> str:
        if "list-type" in query:
            return "LIST"
        return f"{method} {'runs' if '/runs/' in path else 'files' if '/files/' in path else path}"
    return collections.Counter(kind(*r) for r in requests)


def test_isolated_stage_costs_two_s3_requests(tmp_path: Path, s3_bucket: str,
                                                s3_requests: list[tuple[str, str, str]]) -> None:
    reference = _project(tmp_path / "reference")
    run_cli(reference, "repro", "--all", "-q")
    root = _project(tmp_path / "proj")
    run_cli(root, "config", "set", "cache.dir", f"{s3_bucket}/cache")
    run_cli(root, "config", "set", "cluster.mode", "isolated")

    s3_requests.clear()
    report = run_cli(root, "repro", "--all", "--json", "--cluster", "local").json()
    assert report["ran"] == N and report["failed"] == 0, report
    kinds = _kinds(s3_requests)
    assert len(s3_requests) <= PER_STAGE * N + 2, kinds  # + the run cache's one listing (+ the tracked input)
    assert kinds["LIST"] <= 1 and kinds["GET runs"] == 0 and kinds["HEAD files"] == 0 and kinds["GET files"] == 0, kinds
    assert _outputs(root) == _outputs(reference)

    s3_requests.clear()
    again = run_cli(root, "repro", "--all", "--json", "--cluster", "local").json()
    assert again["ran"] == 0 and not s3_requests, _kinds(s3_requests)
    run_cli(root, "verify")

    # Forced: identical outputs already in the workspace are not placed again, but still stored.
    import s3fs

    fs = s3fs.S3FileSystem()
    for path in fs.find(f"{s3_bucket}/cache/files"):
        fs.rm_file(path)
    assert run_cli(root, "repro", "--all", "--json", "-f", "--cluster", "local").json()["ran"] == N
    run_cli(root, "verify", "--cache")


def test_tampered_inline_output_is_refused(tmp_path: Path) -> None:
    """Bytes that come back with a result are placed only when they hash to the output's digest."""
    from pivot.cache.checkout import place_bytes
    from pivot.digest import hash_bytes
    from pivot.errors import CorruptObjectError

    dest = tmp_path / "out.txt"
    dest.write_text("previous\n")
    with pytest.raises(CorruptObjectError, match="hash to"):
        place_bytes(hash_bytes(b"expected\n"), b"forged\n", dest, root=tmp_path, label="out.txt")
    assert dest.read_text() == "previous\n"
    place_bytes(hash_bytes(b"expected\n"), b"expected\n", dest, root=tmp_path)
    assert dest.read_text() == "expected\n"

"""`pivot repro --watch --jsonl` as a real subprocess: each edit runs exactly the stages it affects, once."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from pivot.watch import WatchSet
from tests.fixtures.project import PIVOT, default_sigint, run_cli, write

PIPELINE = """
    from typing import Annotated
    from pivot import Pipeline, Dep, Out, StageParams, loaders
    from helpers import shout


    class UpperParams(StageParams):
        suffix: str = "!"


    def upper(text: Annotated[str, Dep("data.txt", loaders.Text())],
              params: UpperParams) -> Annotated[str, Out("upper.txt", loaders.Text())]:
        return shout(text) + params.suffix


    pipeline = Pipeline("w")
    pipeline.register(upper)
    pipeline.register_cmd("count", cmd=["wc -c < upper.txt | tr -d ' ' > count.txt"], deps=["upper.txt"],
                          outs=["count.txt"])
"""
EXTRA = """
    pipeline.register_cmd("extra", cmd=["cat count.txt count.txt > extra.txt"], deps=["count.txt"],
                          outs=["extra.txt"])
"""
SUB = """
    from pivot import Pipeline
    pipeline = Pipeline("sub")
    pipeline.register_cmd("copy", cmd=["cp ../data.txt copy.txt"], deps=["../data.txt"], outs=["copy.txt"])
"""


class Stream:
    """The watcher's stdout, one parsed event at a time, read by a thread (never blocks the test)."""

    def __init__(self, out: IO[str]) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, args=(out,), daemon=True).start()

    def _read(self, out: IO[str]) -> None:
        for line in out:
            self.events.put(json.loads(line))

    def until_watching(self, timeout: float = 60) -> list[dict[str, Any]]:
        """Events up to and including the next "watching"."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            event = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            seen.append(event)
            if event["event"] == "watching":
                return seen

    def quiet(self, seconds: float) -> list[dict[str, Any]]:
        time.sleep(seconds)
        found = []
        while not self.events.empty():
            found.append(self.events.get())
        return found


def ran(events: list[dict[str, Any]]) -> list[str]:
    return sorted(e["stage"] for e in events if e["event"] == "stage_end" and e["status"] == "ran")


def runs(events: list[dict[str, Any]]) -> int:
    return sum(1 for e in events if e["event"] == "run_start")


@pytest.fixture
def watched(tmp_path: Path) -> Any:
    root = tmp_path / "w"
    root.mkdir()
    run_cli(root, "init")
    write(root / "data.txt", "hello\n")
    write(root / "params.yaml", "upper:\n  suffix: '?'\n")
    write(root / "helpers.py", "def shout(text: str) -> str:\n    return text.strip().upper()\n")
    write(root / "pipeline.py", PIPELINE)
    proc = subprocess.Popen(preexec_fn=default_sigint, args=[*PIVOT, "repro", "--all", "--watch", "--jsonl", "--debounce", "100"], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    assert proc.stdout is not None
    try:
        yield root, proc, Stream(proc.stdout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _edit(path: Path, text: str) -> None:
    time.sleep(0.05)
    write(path, text)


def test_each_edit_runs_exactly_what_it_affects(watched: Any) -> None:
    root, proc, stream = watched
    first = stream.until_watching()
    assert first[0] == {"event": "schema", "version": 1}
    assert runs(first) == 1 and ran(first) == ["count", "upper"]
    assert (root / "upper.txt").read_text() == "HELLO?"
    assert stream.quiet(0.8) == []  # the run's own outputs, locks and state DB writes trigger nothing

    def step(path: Path, text: str, expected: list[str]) -> list[dict[str, Any]]:
        _edit(path, text)
        events = stream.until_watching()
        assert runs(events) == 1, events
        assert ran(events) == expected, events
        assert stream.quiet(0.6) == [], f"a run was triggered by Pivot's own writes after editing {path.name}"
        return events

    step(root / "data.txt", "bye\n", ["count", "upper"])
    assert (root / "upper.txt").read_text() == "BYE?" and (root / "count.txt").read_text().strip() == "4"
    step(root / "data.txt", "bye  \n\n", ["upper"])  # same output after strip(): early cutoff spares count
    step(root / "params.yaml", "upper:\n  suffix: '!!'\n", ["count", "upper"])
    assert (root / "upper.txt").read_text() == "BYE!!"
    step(root / "helpers.py", "def shout(text: str) -> str:\n    return '<' + text.strip().upper() + '>'\n",
         ["count", "upper"])
    assert (root / "upper.txt").read_text() == "<BYE>!!" and (root / "count.txt").read_text().strip() == "7"
    step(root / "pipeline.py", PIPELINE + EXTRA, ["extra"])  # a new stage; the others stay cached
    assert (root / "extra.txt").read_text() == "7\n7\n"

    broken = step(root / "pipeline.py", PIPELINE + EXTRA + "\nthis is not python\n", [])
    end = [e for e in broken if e["event"] == "run_end"][-1]
    assert end["exit_code"] == 2 and "pipeline.py" in end["error"]
    fixed = step(root / "pipeline.py", PIPELINE + EXTRA, [])  # fixing resumes; nothing is stale
    assert [e["exit_code"] for e in fixed if e["event"] == "run_end"] == [0]

    (root / "sub").mkdir()
    time.sleep(0.3)  # an editor saves into an existing folder
    step(root / "sub" / "pipeline.py", SUB, ["sub:copy"])  # a new pipeline.py is picked up
    assert (root / "sub" / "copy.txt").read_text() == "bye  \n\n"
    assert proc.poll() is None

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0
    tail = stream.quiet(0.2)
    assert {"event": "notice", "message": "stopped watching"} in tail


def test_changes_during_a_run_make_one_follow_up_run(tmp_path: Path) -> None:
    root = tmp_path / "slow"
    root.mkdir()
    run_cli(root, "init")
    write(root / "data.txt", "1\n")
    write(root / "pipeline.py", """
        from pivot import Pipeline
        pipeline = Pipeline("s")
        pipeline.register_cmd("slow", cmd=["touch running; sleep 1; cp data.txt out.txt; rm running"],
                              deps=["data.txt"], outs=["out.txt"])
    """)
    proc = subprocess.Popen(preexec_fn=default_sigint, args=[*PIVOT, "repro", "--watch", "--jsonl", "--debounce", "50", "--all"], cwd=root,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None
        stream = Stream(proc.stdout)
        stream.until_watching()
        _edit(root / "data.txt", "2\n")
        deadline = time.monotonic() + 30
        while not (root / "running").exists():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        for value in ("3\n", "4\n", "5\n"):  # three edits while the run is busy
            _edit(root / "data.txt", value)
        events = stream.until_watching() + stream.until_watching()
        assert runs(events) == 2 and ran(events) == ["slow", "slow"]  # the edit's run + one follow-up
        assert stream.quiet(0.6) == []
        assert (root / "out.txt").read_text() == "5\n"

        _edit(root / "data.txt", "6\n")  # Ctrl-C in the middle of a run: nothing half-committed
        while not (root / "running").exists():
            assert time.monotonic() < deadline + 30
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)  # the terminal signals the whole foreground group
        assert proc.wait(timeout=30) == 130
        run_cli(root, "checkout")  # the previous result is still the recorded one, and restorable
        assert (root / "out.txt").read_text() == "5\n"
        status = run_cli(root, "status", "--json").json()
        assert [s["name"] for s in status["stages"] if s["decision"] == "run"] == ["slow"]
        assert run_cli(root, "history", "--json").json()["runs"][0]["status"] == "interrupted"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_watch_keeps_one_cluster_client_across_runs(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    root = tmp_path / "c"
    root.mkdir()
    run_cli(root, "init")
    write(root / "data.txt", "a\n")
    write(root / "pipeline.py", """
        from pivot import Pipeline
        pipeline = Pipeline("c")
        pipeline.register_cmd("copy", cmd=["cp data.txt out.txt"], deps=["data.txt"], outs=["out.txt"])
    """)
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0")  # type: ignore[no-untyped-call]
    client = Client(cluster)  # type: ignore[no-untyped-call]

    def others() -> set[str]:
        clients: set[str] = set(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.clients)))
        return {c for c in clients if c != client.id and not c.startswith("fire-and-forget")}

    proc = subprocess.Popen(preexec_fn=default_sigint, args=[*PIVOT, "repro", "--watch", "--jsonl", "--debounce", "50", "--cluster",
                             cluster.scheduler_address], cwd=root, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None
        stream = Stream(proc.stdout)
        first = stream.until_watching()
        assert ran(first) == ["copy"] and first[1]["executor"] == cluster.scheduler_address
        connected = others()
        assert len(connected) == 1  # the watcher's client stays connected while idle
        _edit(root / "data.txt", "b\n")
        assert ran(stream.until_watching()) == ["copy"] and (root / "out.txt").read_text() == "b\n"
        assert others() == connected  # the same client ran the second run
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        client.close()  # type: ignore[no-untyped-call]
        cluster.close()  # type: ignore[no-untyped-call]


WANTS = WatchSet(files=frozenset({"data.txt", "pipeline.py", "params.yaml", "helpers.py"}),
                 folders=("images/",), outputs=frozenset({"upper.txt"}), output_folders=("shards/",), loaded=True)


@pytest.mark.parametrize(("rel", "wanted"), [
    ("data.txt", True), ("helpers.py", True), ("params.yaml", True), ("images/a/b.png", True),
    ("sub/pipeline.py", True),  # a new pipeline anywhere
    ("raw.csv.pvt", True),  # tracked data re-pinned
    ("upper.txt", False), ("shards/part_aa", False),  # Pivot's own outputs
    (".pivot/state.lmdb/data.mdb", False), (".pivot/cache/files/xx/yy", False), (".git/index", False),
    ("__pycache__/helpers.cpython-311.pyc", False), ("sub/.venv/lib/x.py", False),
    ("notes.md", False), ("other.py", False),  # not read by any stage
])
def test_what_a_change_must_touch(rel: str, wanted: bool) -> None:
    assert WANTS.wants(rel) is wanted


def test_before_the_first_load_any_source_counts() -> None:
    assert WatchSet().wants("helpers.py") and WatchSet().wants("sub/params.yaml")
    assert not WatchSet().wants("out.csv") and not WatchSet().wants(".pivot/x.py")

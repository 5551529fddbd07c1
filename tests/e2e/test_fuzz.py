"""Property-based fuzzing of the three correctness properties (hypothesis, stateful).

Random small projects (two sub-pipelines, Python and shell stages, a folder
output, params of both kinds, matrix variants, a tracked input) get random edits (code,
params, a shell stage's FILE:key params, data, tracked files, deleted or modified outputs, reverts to earlier
states). After every step: explain agrees with execution, a second run does
nothing, and the workspace equals a from-scratch run.
The same machine runs twice: with the inline executor, and with the Dask
executor on a LocalCluster (worker processes, the shared cache). Every other
inline run sends one stage at a time (the engine's window, as the local pool
uses it: decisions wait in its priority queue and results settle in between). `make fuzz`
raises the example counts (PIVOT_FUZZ_EXAMPLES, PIVOT_FUZZ_DASK_EXAMPLES) and
lifts the per-test timeout.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from pivot import api
from pivot.engine import execute
from pivot.executor.base import Executor
from pivot.executor.local import InlineExecutor
from pivot.results import RunReport
from pivot.session import open_session
from tests.fixtures.project import outputs_snapshot, write

EXAMPLES = {"inline": int(os.environ.get("PIVOT_FUZZ_EXAMPLES", "12")),
            "dask": int(os.environ.get("PIVOT_FUZZ_DASK_EXAMPLES", "2"))}
WORDS = ("alpha beta\ngamma\n", "delta\n", "alpha beta\ngamma\nepsilon\n", "")

UPSTREAM = '''
from typing import Annotated
from pivot import Pipeline, Dep, Out, StageParams, loaders
from helper import FACTOR, shape


class Scale(StageParams):
    times: int = 1


def scale(words: Annotated[str, Dep("../data/words.txt", loaders.Text())],
          params: Scale) -> Annotated[str, Out("scaled.txt", loaders.Text())]:
    return shape(words) * (params.times * FACTOR)


pipeline = Pipeline("up")
for i in range({variants}):
    pipeline.register(scale, name=f"scale@v{{i}}", params=Scale(times=i + 1),
                      out_path_overrides={{"return": f"scaled_{{i}}.txt"}})
pipeline.register_cmd("shard", cmd=["mkdir -p shards", "cd shards && split -l 2 ../scaled_0.txt part_ && touch keep"],
                      deps=["scaled_0.txt"], outs=["shards/"])
'''

HELPER = '''
FACTOR = {factor}


def shape(text: str) -> str:
    return text.{method}()
'''

DOWNSTREAM = '''
from typing import Annotated
from pivot import Pipeline, Dep, Out, loaders


def join(first: Annotated[str, Dep("../up/scaled_0.txt", loaders.Text())],
         shards: Annotated[object, Dep("../up/shards/", loaders.PathOnly())]) -> Annotated[str, Out("joined.txt", loaders.Text())]:
    import pathlib
    names = sorted(p.name for p in pathlib.Path(str(shards)).iterdir())
    return first[:20] + "|" + ",".join(names) + "\\n"


pipeline = Pipeline("down")
pipeline.register(join)
pipeline.register_cmd("count", cmd="wc -c < joined.txt > count.txt", deps=["joined.txt"], outs=["count.txt"],
                      params=["../shared.yaml:count.width"])
'''


COUNTS = {"sequences": 0, "steps": 0}


class _WindowedInline(InlineExecutor):
    capacity = 1


_INLINE_RUNS = itertools.count()


def _inline(_root: Path, _cache: str) -> Executor:
    return _WindowedInline() if next(_INLINE_RUNS) % 2 else InlineExecutor()


# How the machine's runs execute: set per test (inline, or Dask on the session's LocalCluster).
EXECUTOR: dict[str, Callable[[Path, str], Executor]] = {"make": _inline}


def _run(root: Path) -> RunReport:
    session = open_session(root, root)
    try:
        scope = session.scope(all_pipelines=True)
        executor = EXECUTOR["make"](session.root, session.ws.cache_url)
        try:
            return execute(session, scope, session.inputs(scope), executor)
        finally:
            executor.close()
    finally:
        session.close()


class PivotMachine(RuleBasedStateMachine):
    root: Path

    @initialize(variants=st.integers(1, 3))
    def make(self, variants: int) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="pivot-fuzz-"))
        self.root = self.tmp / "proj"
        api.init(self.root)
        self.variants = variants
        write(self.root / "data" / "words.txt", WORDS[0])
        write(self.root / "up" / "pipeline.py", UPSTREAM.format(variants=variants))
        write(self.root / "up" / "helper.py", HELPER.format(factor=1, method="upper"))
        write(self.root / "down" / "pipeline.py", DOWNSTREAM)
        write(self.root / "shared.yaml", "count:\n  width: 1\n")
        api.track(["data/words.txt"], root=self.root, cwd=self.root)
        self._repro_and_check()

    def teardown(self) -> None:
        COUNTS["sequences"] += 1
        if COUNTS["sequences"] % 100 == 0:  # a long `make fuzz` shows it is alive
            print(f"fuzz: {COUNTS['sequences']} sequences, {COUNTS['steps']} steps so far", flush=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    @rule(index=st.integers(0, len(WORDS) - 1), track=st.booleans())
    def edit_data(self, index: int, track: bool) -> None:
        (self.root / "data" / "words.txt").write_text(WORDS[index])
        if track:
            api.track(["data/words.txt"], force=True, root=self.root, cwd=self.root)

    @rule(factor=st.integers(1, 2), method=st.sampled_from(["upper", "lower"]))
    def edit_code(self, factor: int, method: str) -> None:
        write(self.root / "up" / "helper.py", HELPER.format(factor=factor, method=method))

    @rule(variant=st.integers(0, 2), times=st.integers(1, 3))
    def edit_params(self, variant: int, times: int) -> None:
        if variant < self.variants:
            write(self.root / "up" / "params.yaml", f"scale@v{variant}:\n  times: {times}\n")

    @rule(width=st.integers(1, 3))
    def edit_shell_params(self, width: int) -> None:
        """A shell stage's FILE:key params: the load cache re-resolves these in place."""
        write(self.root / "shared.yaml", f"count:\n  width: {width}\n")

    @rule(which=st.sampled_from(["up/scaled_0.txt", "down/joined.txt", "up/shards", "down/count.txt"]))
    def delete_output(self, which: str) -> None:
        target = self.root / which
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()

    @rule(which=st.sampled_from(["up/scaled_0.txt", "down/joined.txt"]))
    def modify_output(self, which: str) -> None:
        target = self.root / which
        if target.exists():
            target.chmod(0o644)
            target.write_text("tampered\n")

    @rule()
    def repro(self) -> None:
        self._repro_and_check()

    @rule()
    def pause(self) -> None:
        """Time passes: what was written becomes old enough to trust (stat cache, skip memo)."""
        time.sleep(2 * int(FUZZ_GRANULARITY_NS) / 1e9)

    def _repro_and_check(self) -> None:
        status = api.status(all=True, root=self.root, cwd=self.root)
        # Asked again at once: now from what the first answer proved (the skip memo), same answer.
        again_status = api.status(all=True, root=self.root, cwd=self.root)
        assert [(d.stage, d.action, d.reasons, d.stage_key) for d in again_status.plan] == \
            [(d.stage, d.action, d.reasons, d.stage_key) for d in status.plan]
        # The file-only part (no folder stage: a no-op recalls all of it), asked three times: the
        # third answer comes from the whole-plan record (pivot.planshot) when the second recalled
        # every stage; each equals that part of the full plan.
        whole = {d.stage: (d.action, d.reasons, d.stage_key, d.outs) for d in again_status.plan}
        for _ in range(3):
            part = api.status(["scale"], root=self.root, cwd=self.root).plan
            assert {d.stage: (d.action, d.reasons, d.stage_key, d.outs) for d in part} == \
                {d.stage: whole[d.stage] for d in part}
        predicted = {d.stage: d for d in again_status.plan}
        report = _run(self.root)
        for name, outcome in report.outcomes.items():
            d = predicted[name]
            if outcome.status in ("ran", "restored"):
                assert d.will_run or d.upstream_stale, (name, outcome.status, d)
            if d.will_run:
                assert outcome.status in ("ran", "restored"), (name, outcome.status, d)
            if d.action == "skip":
                assert outcome.status == "skipped", (name, outcome.status, d)
        again = _run(self.root)
        assert {o.status for o in again.outcomes.values()} <= {"skipped"}, again.to_json()
        assert outputs_snapshot(self.root) == self._scratch()

    def _scratch(self) -> dict[str, bytes]:
        fresh = self.tmp / "scratch"
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.copytree(self.root, fresh, ignore=shutil.ignore_patterns(
            ".pivot", "__pycache__", "scaled_*.txt", "shards", "joined.txt", "count.txt"))
        api.init(fresh)
        _run(fresh)
        return outputs_snapshot(fresh)

    @invariant()
    def nothing_half_written(self) -> None:
        COUNTS["steps"] += 1
        if hasattr(self, "root"):
            leftovers = list((self.root / ".pivot").rglob("*.tmp"))
            assert not leftovers, leftovers


# Status (explain) is made as the CLI makes it: load cache, stat cache, parsed locks and the skip
# memo; every execution here is the plain check (no load cache, so no memo). A granularity of
# 50 ms (still coarser than the kernel's timestamp tick) lets the steps of one sequence trust
# what earlier steps proved, so the memo's and the stat cache's recalls are what get compared.
FUZZ_GRANULARITY_NS = "50000000"


def _fuzz(kind: str) -> None:
    COUNTS.update(sequences=0, steps=0)
    saved = os.environ.get("PIVOT_MTIME_GRANULARITY_NS")
    os.environ["PIVOT_MTIME_GRANULARITY_NS"] = FUZZ_GRANULARITY_NS
    try:
        run_state_machine_as_test(PivotMachine, settings=settings(
            max_examples=EXAMPLES[kind], stateful_step_count=6, deadline=None, database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ))
    finally:
        if saved is None:
            os.environ.pop("PIVOT_MTIME_GRANULARITY_NS", None)
        else:
            os.environ["PIVOT_MTIME_GRANULARITY_NS"] = saved
    print(f"\nfuzz: {COUNTS['sequences']} sequences, {COUNTS['steps']} steps passed on the {kind} executor "
          "(explain agrees, second run does nothing, workspace equals scratch)", flush=True)
    assert COUNTS["sequences"] > 0


def test_fuzz_projects_and_edits() -> None:
    EXECUTOR["make"] = _inline
    _fuzz("inline")


@pytest.mark.cluster
def test_fuzz_on_dask(dask_client: Any) -> None:
    from pivot.executor.dask import DaskExecutor

    EXECUTOR["make"] = lambda root, cache: DaskExecutor.connect(dask_client, project_root=root, cache_url=cache)
    try:
        _fuzz("dask")
    finally:
        EXECUTOR["make"] = _inline

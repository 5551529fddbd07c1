"""In one long-lived kernel: notebook-defined stages re-run exactly what changed.

Nothing held in the kernel (imported modules, function objects, earlier
reports) may replay an old result: each edit is judged by its content.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.fixtures.project import make_project, outputs_snapshot, run_cli, write
from tests.notebooks.kernel import Kernel

SETUP = """
import json
from pathlib import Path
from typing import Annotated

import pivot
from pivot import Dep, Out, Pipeline, StageParams, loaders

ROOT = Path.cwd()  # the project is found from the notebook's working folder
SCALE = 2


class LetterParams(StageParams):
    upper: bool = False


def summary(words: Annotated[dict, Dep("nb/words.json", loaders.JSON())]) -> Annotated[str, Out("nb/summary.txt", loaders.Text())]:
    return f"{words['count']} words\\n"


def letters(clean: Annotated[str, Dep("prep/clean.txt", loaders.Text())], params: LetterParams) -> Annotated[str, Out("nb/letters.txt", loaders.Text())]:
    return clean.upper() if params.upper else clean[::-1]


def build():
    pipeline = Pipeline("nb", root=ROOT)
    pipeline.register(words)
    pipeline.register(summary)
    pipeline.register(letters)
    return pipeline


def outcomes(report):
    return {name: str(o.status) for name, o in report.outcomes.items() if str(o.status) != "skipped"}
"""

WORDS = """
def words(model: Annotated[dict, Dep("model/model_small.json", loaders.JSON())]) -> Annotated[dict, Out("nb/words.json", loaders.JSON())]:
    return {"count": model["words"] * SCALE%s}
"""
ORIGINAL, EDITED = WORDS % "", WORDS % " + 1"
RUN = "report = pivot.repro(all=True, pipelines=[build()])\nassert report.ok, report\nprint(json.dumps(outcomes(report)))"
ALL = {"prep:clean", "prep:split", "prep:shards", "model:train@small", "model:train@large",
       "model:evaluate@small", "model:evaluate@large", "report:summary", "words", "summary", "letters"}


class Table(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.in_cell = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append("")
            self.in_cell = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self.in_cell = False

    def handle_data(self, data: str) -> None:
        if self.in_cell:
            self.rows[-1][-1] += data


def parse(html: str) -> list[list[str]]:
    table = Table()
    table.feed(html)
    return table.rows


@pytest.fixture
def kernel(project: Path, tmp_path: Path) -> Iterator[Kernel]:
    root = project
    k = Kernel(root)
    try:
        k.run(SETUP + ORIGINAL)
        yield k
    finally:
        k.close()


def test_edits_rerun_exactly_what_changed(kernel: Kernel, tmp_path: Path) -> None:
    first = kernel.run(RUN)
    assert set(first.last_json()) == ALL and set(first.last_json().values()) == {"ran"}
    updates = [c for t, c in first.messages if t == "update_display_data"]
    assert updates and all("\x1b" not in c["data"]["text/plain"] for c in updates), "progress must update in place, no ANSI"
    assert "11/11" in updates[-1]["data"]["text/plain"]

    assert kernel.run(RUN).last_json() == {}
    kernel.run(EDITED)
    assert kernel.run(RUN).last_json() == {"words": "ran", "summary": "ran"}
    kernel.run(ORIGINAL)
    assert kernel.run(RUN).last_json() == {"words": "restored", "summary": "restored"}
    kernel.run("SCALE = 3")
    assert kernel.run(RUN).last_json() == {"words": "ran", "summary": "ran"}
    (tmp_path / "proj" / "params.yaml").write_text("letters:\n  upper: true\n")
    assert kernel.run(RUN).last_json() == {"letters": "ran"}
    assert kernel.run("print(json.dumps(pivot.load('words', pipelines=[build()])))").last_json() == {"count": 18}

    fresh = make_project(tmp_path / "fresh")
    write(fresh / "params.yaml", "letters:\n  upper: true\n")
    source = SETUP.replace("ROOT = Path.cwd()", "ROOT = Path(__file__).parent").replace("SCALE = 2", "SCALE = 3")
    write(fresh / "pipeline.py", source + textwrap.dedent(ORIGINAL) + "\npipeline = build()\n")
    run_cli(fresh, "repro", "--all")
    expected = {k: v for k, v in outputs_snapshot(fresh).items() if k != "pipeline.py"}
    assert outputs_snapshot(tmp_path / "proj") == expected

    # A pipeline.py edited between two calls in the same kernel is read afresh.
    model = tmp_path / "proj" / "model" / "pipeline.py"
    model.write_text(model.read_text().replace('"first": words[0]', '"first": words[-1]'))
    assert kernel.run(RUN).last_json() == {
        "model:train@small": "ran", "model:train@large": "ran", "model:evaluate@small": "ran",
        "model:evaluate@large": "ran", "words": "ran"}  # equal metrics and words.json: early cutoff below


def test_reports_render_as_html_tables(kernel: Kernel) -> None:
    plan_html = kernel.run("pivot.status(all=True, pipelines=[build()]).plan").data("text/html")[0]
    rows = parse(plan_html)
    assert rows[0] == ["stage", "decision", "reason", "duration"]
    assert {r[0] for r in rows[1:]} == ALL and all(len(r) == 4 for r in rows)
    assert dict((r[0], r[1]) for r in rows[1:])["words"] == "run"

    kernel.run("report = pivot.repro(all=True, pipelines=[build()])")
    rows = parse(kernel.run("report").data("text/html")[0])
    assert rows[0] == ["stage", "status", "reason", "duration"]
    assert {r[0]: r[1] for r in rows[1:]} == {s: "ran" for s in ALL}
    assert all(r[3].endswith("s") for r in rows[1:])
    status_rows = parse(kernel.run("pivot.status(all=True, pipelines=[build()])").data("text/html")[0])
    assert {r[1] for r in status_rows[1:]} == {"cached"}


def test_notebook_stage_runs_on_a_local_cluster_client(kernel: Kernel) -> None:
    kernel.run(RUN)
    kernel.run(EDITED)
    kernel.run("from dask.distributed import Client, LocalCluster\n"
               "cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=':0')\n"
               "client = Client(cluster)")
    try:
        cell = kernel.run("report = pivot.repro(all=True, pipelines=[build()], cluster=client)\nassert report.ok, report\n"
                          "assert report.dashboard, report\nprint(json.dumps(outcomes(report)))")
        assert cell.last_json() == {"words": "ran", "summary": "ran"}
        assert kernel.run("print(json.dumps(pivot.load('words', pipelines=[build()])))").last_json() == {"count": 13}
        assert kernel.run("print(json.dumps(outcomes(pivot.repro(all=True, pipelines=[build()], cluster=client))))").last_json() == {}
    finally:
        kernel.run("client.close(); cluster.close()")

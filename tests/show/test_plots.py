"""`plots show` and `plots diff`: the page is opened in a real headless Chromium, offline.

Chromium is required, never skipped: without it these tests fail (CI installs it).
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.fixtures.project import run_cli

DATA_PLOTS = {"confusion.csv", "loss.csv", "roc.json"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--enable-logging=stderr", "--v=0", "--dump-dom"]


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is required for the plots tests: apt-get install -y chromium")
    return found


class Marks(HTMLParser):
    """Per plot section: Vega mark groups with their drawn children, images, legend labels."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.groups: list[str] = []  # class of each open <g>
        self.marks: dict[str, list[tuple[str, dict[str, str]]]] = defaultdict(list)  # section -> (group, attrs)
        self.labels: dict[str, list[str]] = defaultdict(list)
        self.images: dict[str, list[str]] = defaultdict(list)
        self.scripts = 0
        self._in_label = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script":
            self.scripts += 1
        if tag == "section" and "plot" in a.get("class", ""):
            self.section = a["data-path"]
        if self.section is None:
            return
        if tag == "g":
            self.groups.append(a.get("class", ""))
        elif tag == "img":
            self.images[self.section].append(a.get("src", ""))
        elif self.groups and "role-mark" in self.groups[-1] and tag in ("path", "text"):
            self.marks[self.section].append((self.groups[-1], a))
        self._in_label = tag == "text" and bool(self.groups) and "role-legend-label" in self.groups[-1]

    def handle_endtag(self, tag: str) -> None:
        if tag == "g" and self.groups:
            self.groups.pop()
        if tag == "section":
            self.section = None

    def handle_data(self, data: str) -> None:
        if self._in_label and self.section and data.strip():
            self.labels[self.section].append(data.strip())
            self._in_label = False


def render(chromium: str, page: Path) -> Marks:
    done = subprocess.run([chromium, *CHROMIUM_FLAGS, page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120, check=True)
    errors = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not errors, errors
    assert "<section" in done.stdout, done.stdout[:500]
    parsed = Marks()
    parsed.feed(done.stdout)
    return parsed


def _offline(page: Path) -> None:
    text = page.read_text()
    assert not re.search(r'(src|href)="(https?:)?//', text), "the page must not load anything from the network"


def test_plots_show_renders_every_chart_offline(project: Path, chromium: str) -> None:
    out = run_cli(project, "plots", "show", "-o", "report", "--json").json()
    page = project / "report" / "index.html"
    assert out["html"] == "report/index.html" or Path(out["html"]).resolve() == page.resolve()
    assert {p["path"] for p in out["plots"]} == DATA_PLOTS | {"curve.png"}
    _offline(page)
    dom = render(chromium, page)
    assert dom.scripts == 0
    assert set(dom.marks) | set(dom.images) == DATA_PLOTS | {"curve.png"}  # one chart per plot
    for path in DATA_PLOTS:
        drawn = [a for _, a in dom.marks[path] if a.get("d", "").strip()]
        assert drawn, f"chart {path} has no marks"
    assert sum(g.startswith("mark-rect") for g, _ in dom.marks["confusion.csv"]) == 4  # a 2x2 matrix
    assert any("mark-line" in g for g, _ in dom.marks["loss.csv"])
    (image,) = dom.images["curve.png"]
    assert base64.b64decode(image.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_diff_has_one_series_per_revision(project: Path, chromium: str) -> None:
    run_cli(project, "plots", "diff", "HEAD~1", "-o", "cmp")
    page = project / "cmp" / "index.html"
    _offline(page)
    dom = render(chromium, page)
    for path in ("roc.json", "loss.csv"):
        lines = [a for g, a in dom.marks[path] if g.startswith("mark-line") and a.get("d")]
        strokes = {a.get("stroke") for a in lines}
        assert len(strokes) == 2, (path, strokes)  # one colour per revision
        assert set(dom.labels[path]) == {"HEAD~1", "workspace"}
    panels = {id(a) for g, a in dom.marks["confusion.csv"] if g.startswith("mark-rect")}
    assert len(panels) == 8  # 2 revisions x 4 cells
    assert len(dom.images["curve.png"]) == 2


def test_plots_diff_of_two_revisions_and_markdown(project: Path) -> None:
    data = run_cli(project, "plots", "diff", "HEAD~1", "HEAD", "--json").json()
    assert data["revisions"] == ["HEAD~1", "HEAD"]
    roc = next(p for p in data["plots"] if p["path"] == "roc.json")
    assert {row["rev"] for row in roc["spec"]["data"]["values"]} == {"HEAD~1", "HEAD"}
    md = run_cli(project, "plots", "show", "--md").out
    assert md.splitlines()[0] == "| path | stage | template | revisions |"


def test_unknown_template_is_a_registration_error(project: Path) -> None:
    text = (project / "pipeline.py").read_text().replace('"template": "smooth"', '"template": "pie"')
    (project / "pipeline.py").write_text(text)
    result = run_cli(project, "plots", "show", check=False)
    assert result.code == 2 and "unknown template 'pie'" in result.err


@pytest.mark.parametrize("template", ["linear", "scatter", "smooth", "confusion"])
@pytest.mark.parametrize("several", [False, True])
def test_every_template_draws_marks(template: str, several: bool) -> None:
    from pivot.show.plots import spec
    from pivot.show.plots_html import render_svg

    revs = ["HEAD~1", "workspace"] if several else ["workspace"]
    if template == "confusion":
        rows = [{"actual": a, "predicted": p, "rev": r} for r in revs for a in "xy" for p in "xyy"]
        props = {"x": "actual", "y": "predicted"}
    else:
        rows = [{"step": i, "loss": 1 / (1 + i), "rev": r} for r in revs for i in range(12)]
        props = {}
    svg = render_svg(spec("p.json", rows, props, template, several))
    parser = Marks()
    parser.feed(f'<section class="plot" data-path="p">{svg}</section>')
    drawn = [a for _, a in parser.marks["p"] if a.get("d", "").strip()]
    assert drawn, svg[:300]
    if template in ("linear", "smooth"):
        colours = {a.get("stroke") for g, a in parser.marks["p"] if g.startswith("mark-line")}
        assert len(colours) == len(revs)


def test_plot_data_must_be_records(tmp_path: Path) -> None:
    from pivot.errors import UserError
    from pivot.show.plots import records

    with pytest.raises(UserError, match="list of records"):
        records("p.json", b'{"a": 1, "b": 2}')
    assert records("p.json", b'{"roc": [{"x": 1}]}') == [{"x": 1}]
    assert records("p.tsv", b"x\ty\n1\t2.5\n") == [{"x": 1, "y": 2.5}]

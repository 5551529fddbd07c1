"""A boxed project for the hostile-path and tampered-object cases (issue 11).

Layout of one case::

    tmp/box/proj/       the project (copied from a template that has run once)
    tmp/box/sentinel/   a folder beside it that nothing may touch
    tmp/home/           HOME of every CLI run

``outside()`` snapshots everything in ``box`` except the project, plus HOME:
a hostile path such as ``../outside.txt`` or ``/abs/path`` inside ``box``
shows up there. Commands run as real subprocesses.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from tests.reliability.harness import Output, case_env, run, snapshot

PIPELINE = """
from pivot import Pipeline

pipeline = Pipeline("p")
pipeline.register_cmd("make", cmd=["mkdir -p res outdir", "(cat ../data/in.txt; echo out) > res/out.txt",
                                   "cp ../data/in.txt outdir/a.txt", "echo b > outdir/b.txt"],
                      deps=["../data/in.txt"], outs=["res/out.txt", "outdir/"])
pipeline.register_cmd("use", cmd="cat res/out.txt outdir/b.txt > final.txt", deps=["res/out.txt", "outdir/"],
                      outs=["final.txt"])
"""
DATA = "alpha\nbeta\n"
MAKE_LOCK = ".pivot/stages/p/make.lock"
OUT = "p/res/out.txt"
OUT_TEXT = DATA + "out\n"


def pivot(cwd: Path, home: Path, *args: str) -> Output:
    """The real CLI in ``cwd`` with HOME set to ``home``."""
    return run(cwd, case_env(home), *args)


def build_template(folder: Path) -> Path:
    root = folder / "proj"
    home = folder / "home"
    (root / "data").mkdir(parents=True)
    (root / "p").mkdir()
    home.mkdir()
    (root / "data" / "in.txt").write_text(DATA)
    (root / "p" / "pipeline.py").write_text(textwrap.dedent(PIPELINE).lstrip())
    for args in (("init",), ("track", "data/in.txt"), ("repro",)):
        result = pivot(root, home, *args)
        assert result.code == 0, result.text
    return root


class Box:
    def __init__(self, template: Path, tmp: Path) -> None:
        self.box = tmp / "box"
        self.root = self.box / "proj"
        self.home = tmp / "home"
        shutil.copytree(template, self.root, symlinks=True)
        (self.box / "sentinel").mkdir()
        (self.box / "sentinel" / "keep.txt").write_text("do not touch\n")
        self.home.mkdir()
        self._outside = self.outside()

    def run(self, *args: str) -> Output:
        return pivot(self.root, self.home, *args)

    def outside(self) -> dict[str, str]:
        return {**snapshot(self.box, skip=self.root), **{f"~/{k}": v for k, v in snapshot(self.home).items()}}

    def objects(self) -> dict[str, str]:
        """Cache objects (and quarantined ones) by name: nothing may ever disappear."""
        cache = self.root / ".pivot" / "cache"
        return snapshot(cache / "files")

    def quarantined(self) -> list[Path]:
        folder = self.root / ".pivot" / "cache" / "quarantine"
        return sorted(folder.iterdir()) if folder.exists() else []

    def assert_outside_untouched(self) -> None:
        assert self.outside() == self._outside, "something outside the project was created or changed"

    def assert_clean_failure(self, result: Output, code: int, *needles: str) -> None:
        assert result.code == code, result.text
        assert "Traceback" not in result.text, result.text
        for needle in needles:
            assert needle in result.text, (needle, result.text)
        if code == 2:
            errors = [line for line in result.err.splitlines() if line.startswith("error:")]
            assert len(errors) == 1, result.err
        self.assert_outside_untouched()
        assert (self.root / "data" / "in.txt").read_text() == DATA  # tracked data never lost

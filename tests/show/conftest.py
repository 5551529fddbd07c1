"""A real git repository holding a Pivot project with metrics, params and plots, in two commits.

Commit 1 trains with ``train.lr = 0.1``, commit 2 with ``0.2``; ``epochs`` and
``seed`` never change. A Python stage declares ``Metric``/``Plot`` outputs, a
shell stage ``metrics=``/``plots=`` (one metric with ``cache: false``, kept in
git). The cached outputs are git-ignored, so reading them at a revision must
go through the cache (or the remote).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.project import run_cli, write

PIPELINE = '''
from typing import Annotated, TypedDict
from pivot import Pipeline, Metric, Out, Plot, StageParams, loaders


class TrainParams(StageParams):
    lr: float = 0.1
    epochs: int = 3
    seed: int = 1


class TrainOutputs(TypedDict):
    model: Annotated[str, Out("model.txt", loaders.Text())]
    metrics: Annotated[dict, Metric("metrics.json")]
    roc: Annotated[list, Plot("roc.json", x="fpr", y="tpr")]


def train(params: TrainParams) -> TrainOutputs:
    acc = round(0.5 + params.lr, 4)
    roc = [{"fpr": i / 10, "tpr": min(1.0, round((i / 10) ** (params.lr * 5), 4))} for i in range(11)]
    return {"model": f"model lr={params.lr} epochs={params.epochs}\\n",
            "metrics": {"acc": acc, "loss": round(1 - acc, 4), "avg_prec": {"test": acc, "train": 0.9},
                        "epochs": params.epochs},
            "roc": roc}


def curve(params: TrainParams) -> Annotated[object, Plot("curve.png")]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [0, params.lr, 2 * params.lr])
    return fig


pipeline = Pipeline("demo")
pipeline.register(train)
pipeline.register(curve)
pipeline.register_cmd(
    "report", cmd="python3 report.py", deps=["report.py", "model.txt"], params=["train.lr"],
    metrics=[{"report.yaml": {"cache": False}}, "scores.tsv"],
    plots=[{"loss.csv": {"x": "step", "y": "loss", "template": "smooth"}},
           {"confusion.csv": {"x": "actual", "y": "predicted", "template": "confusion"}}],
)
'''

REPORT = '''
import yaml
lr = float(open("model.txt").read().split("lr=")[1].split()[0])
with open("report.yaml", "w") as f:
    yaml.safe_dump({"score": round(10 * lr, 3), "name": "demo"}, f)
with open("scores.tsv", "w") as f:
    f.write(f"precision\\trecall\\n{0.7 + lr:.3f}\\t0.5\\n")
with open("loss.csv", "w") as f:
    f.write("step,loss\\n" + "".join(f"{i},{1 / (1 + i * lr):.4f}\\n" for i in range(20)))
with open("confusion.csv", "w") as f:
    rows = [("cat", "cat")] * 5 + [("cat", "dog")] * int(lr * 10) + [("dog", "dog")] * 4 + [("dog", "cat")]
    f.write("actual,predicted\\n" + "".join(f"{a},{p}\\n" for a, p in rows))
'''

GITIGNORE = "curve.png\nmodel.txt\nmetrics.json\nroc.json\nscores.tsv\nloss.csv\nconfusion.csv\npivot_plots/\n"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout


def set_lr(root: Path, lr: float) -> None:
    write(root / "params.yaml", f"train:\n  lr: {lr}\n")


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def build(root: Path, remote: str | None = None) -> Path:
    """Two commits (lr 0.1 then 0.2; tracked ``data/`` edited), each after a real `pivot repro`.

    With ``remote``, it is the default remote and every commit is pushed first.
    """
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "Test")
    run_cli(root, "init")
    if remote is not None:
        run_cli(root, "remote", "add", "store", remote, "--default")
    write(root / "pipeline.py", PIPELINE)
    write(root / "report.py", REPORT)
    (root / ".gitignore").write_text(GITIGNORE)
    write(root / "data" / "a.txt", "alpha\n")
    for lr in (0.1, 0.2):
        set_lr(root, lr)
        write(root / "data" / "b.txt", f"beta {lr}\n")
        run_cli(root, "track", "data/", "--force")
        run_cli(root, "repro")
        if remote is not None:
            run_cli(root, "push")
        commit_all(root, f"train with lr={lr}")
    return root


@pytest.fixture(scope="session")
def _built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("show-template") / "proj")


@pytest.fixture
def project(_built: Path, tmp_path: Path) -> Path:
    """A private copy of the two-commit project (the template is built once per session)."""
    root = tmp_path / "proj"
    shutil.copytree(_built, root, symlinks=True)
    return root

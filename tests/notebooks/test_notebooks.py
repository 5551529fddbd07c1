"""Execute each shipped notebook top to bottom in a real python3 kernel; any error fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _read(name: str) -> Any:
    read: Any = nbformat.read  # untyped
    return read(NOTEBOOKS / name, as_version=4)


def _run(name: str, cwd: Path) -> Any:
    notebook = _read(name)
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    return notebook


@pytest.mark.parametrize("name", ["quickstart.ipynb", "cluster.ipynb"])
def test_notebook_is_stored_without_outputs(name: str) -> None:
    notebook = _read(name)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is None and cell.outputs == []


def test_quickstart_runs(tmp_path: Path) -> None:
    notebook = _run("quickstart.ipynb", tmp_path)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot was not shown"
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("<table>" in h for h in html), "reports did not render as HTML"
    text = json.dumps(outputs)
    assert "\\u001b[" not in text and "\x1b[" not in text, "ANSI escape codes in the notebook"


def test_cluster_runs(tmp_path: Path) -> None:
    notebook = _run("cluster.ipynb", tmp_path)
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "dashboard: http" in printed

"""What the worker plugin ships: the project's code and small config, never state or data."""

from __future__ import annotations

from pathlib import Path

import pytest

from pivot.errors import ConfigError
from pivot.executor import worker
from pivot.executor.dask import DaskExecutor
from pivot.executor.plugin import CodePlugin, code_files, pack_project, unpack
from tests.executor.helpers import set_config
from tests.fixtures.project import make_project, run_cli


@pytest.fixture(scope="module")
def ran_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("plugin") / "proj")
    run_cli(root, "repro")
    return root


def test_ships_sources_and_config_but_not_state_outputs_or_big_files(ran_project: Path) -> None:
    root = ran_project
    (root / "prep" / "params.yaml").write_text("clean:\n  lower: true\n")
    (root / "prep" / "big.json").write_bytes(b"[" + b"0," * (1 << 20) + b"0]")
    (root / ".venv" / "lib").mkdir(parents=True, exist_ok=True)
    (root / ".venv" / "lib" / "site.py").write_text("x = 1\n")
    (root / ".git").mkdir(exist_ok=True)
    (root / ".git" / "hook.py").write_text("x = 1\n")
    try:
        shipped = set(code_files(root))
    finally:
        (root / "prep" / "params.yaml").unlink()
    assert shipped == {"model/pipeline.py", "prep/helpers.py", "prep/pipeline.py", "report/pipeline.py",
                       "prep/params.yaml"}  # metrics_*.json and model_*.json are outputs: data


def test_pack_is_deterministic_and_unpacks_once(ran_project: Path, tmp_path: Path) -> None:
    payload = pack_project(ran_project)
    assert payload == pack_project(ran_project)
    first = unpack(payload, tmp_path / "code" / "abc")
    assert (first / "prep" / "helpers.py").read_text() == (ran_project / "prep" / "helpers.py").read_text()
    (first / "marker").write_text("")
    assert unpack(payload, tmp_path / "code" / "abc") == first and (first / "marker").exists()


def test_setup_points_the_worker_at_the_copy(ran_project: Path, tmp_path: Path) -> None:
    class FakeWorker:  # only the attribute the plugin reads; the real thing runs in test_dask_*
        local_directory = str(tmp_path)

    plugin = CodePlugin("/planner/project", pack_project(ran_project))
    plugin.setup(FakeWorker())
    try:
        code = Path(worker.CODE_ROOTS["/planner/project"])
        assert code.is_relative_to(tmp_path) and (code / "model" / "pipeline.py").exists()
    finally:
        plugin.teardown(FakeWorker())
    assert "/planner/project" not in worker.CODE_ROOTS


def test_mode_is_chosen_from_the_cache_location(ran_project: Path, tmp_path: Path) -> None:
    inside = str(ran_project / ".pivot" / "cache")
    assert not DaskExecutor.connect("local", project_root=ran_project, cache_url=inside).isolated
    assert DaskExecutor.connect("local", project_root=ran_project, cache_url=str(tmp_path)).isolated
    assert DaskExecutor.connect("local", project_root=ran_project, cache_url="s3://bucket/cache").isolated
    assert DaskExecutor.connect("local", project_root=ran_project, cache_url=inside, mode="isolated").isolated
    set_config(ran_project, cluster={"mode": "sideways"})
    try:
        with pytest.raises(ConfigError, match=r"cluster\.mode"):
            DaskExecutor.connect("local", project_root=ran_project, cache_url=inside)
    finally:
        set_config(ran_project, cluster={"mode": None})

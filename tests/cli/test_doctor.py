"""`pivot doctor`: passes on a healthy project; names the problem and its fix on broken ones."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.project import run_cli, write


def doctor(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    result = run_cli(root, "doctor", "--json", *args, env=env, check=False)
    data = result.json()
    assert result.code == (0 if data["ok"] else 1), result.err
    return result.code, {c["name"]: c for c in data["checks"]}


def _git_init(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)


@pytest.fixture
def healthy(project: Path) -> Path:
    _git_init(project)
    return project


def test_healthy_project_passes(healthy: Path) -> None:
    code, checks = doctor(healthy)
    assert code == 0
    for name in ("python", "packages", "project", ".pivot", "pipelines", "state db", "cache", "hardlinks", "git"):
        assert checks[name]["status"] == "ok", checks[name]
    assert "stage" in checks["pipelines"]["detail"] and "writable" in checks["cache"]["detail"]
    assert checks[".gitignore"]["status"] == "warn" and checks[".gitignore"]["fix"]  # outputs not ignored yet
    human = run_cli(healthy, "doctor")
    assert "all checks passed" in human.out
    run_cli(healthy, "repro", "--all")  # writes the .gitignore blocks: every output but the metrics
    assert doctor(healthy)[1][".gitignore"]["status"] == "ok"  # metrics belong in git: not flagged


def test_unwritable_cache(healthy: Path) -> None:
    blocker = healthy / "blocker"
    blocker.write_text("a file, not a folder")
    run_cli(healthy, "config", "set", "cache.dir", str(blocker / "cache"))  # even root cannot create it
    code, checks = doctor(healthy)
    assert code == 1 and checks["cache"]["status"] == "fail"
    assert "not writable" in checks["cache"]["detail"] and "cache.dir" in checks["cache"]["fix"]


def test_pipeline_import_error(healthy: Path) -> None:
    write(healthy / "model" / "pipeline.py", "import no_such_module_anywhere\n")
    code, checks = doctor(healthy)
    assert code == 1 and checks["pipelines"]["status"] == "fail"
    assert "model/pipeline.py" in checks["pipelines"]["detail"] and "no_such_module_anywhere" in checks["pipelines"]["detail"]
    assert "model/pipeline.py" in checks["pipelines"]["fix"]
    human = run_cli(healthy, "doctor", check=False)
    assert human.code == 1 and "fix:" in human.out and "Traceback" not in human.out + human.err


def test_no_git(project: Path) -> None:
    code, checks = doctor(project)
    assert code == 1 and checks["git"]["status"] == "fail" and "git init" in checks["git"]["fix"]


def test_outside_a_project(tmp_path: Path) -> None:
    code, checks = doctor(tmp_path)
    assert code == 1 and checks["project"]["status"] == "fail" and "pivot init" in checks["project"]["fix"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def strict_s3() -> Iterator[str]:
    """A moto S3 server that checks credentials (no request is let through unauthenticated)."""
    port = _free_port()
    moto = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "moto_server did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_remote_with_wrong_credentials(healthy: Path, strict_s3: str) -> None:
    run_cli(healthy, "remote", "add", "team", "s3://pivot-team", "--endpoint-url", strict_s3, "--default")
    env = {"AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG0", "AWS_SECRET_ACCESS_KEY": "wrong", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL_S3": strict_s3}
    code, checks = doctor(healthy, "--remote", env=env)
    assert code == 1 and checks["remote"]["status"] == "fail"
    assert "team" in checks["remote"]["detail"] and "credentials" in checks["remote"]["fix"]


def test_remote_reachable(healthy: Path, s3_bucket: str) -> None:
    run_cli(healthy, "remote", "add", "team", s3_bucket, "--default")
    code, checks = doctor(healthy, "--remote")
    assert code == 0 and checks["remote"]["status"] == "ok"


def test_cluster_version_skew(healthy: Path) -> None:
    from distributed import Client, LocalCluster, WorkerPlugin

    class OldPivot(WorkerPlugin):  # type: ignore[misc]
        """The workers now import a Pivot that calls itself 0.0.1 (defined here: shipped by value)."""

        name = "old-pivot"

        def setup(self, worker: Any) -> None:
            import pivot

            pivot.__version__ = "0.0.1"

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0")  # type: ignore[no-untyped-call]
    client = Client(cluster)  # type: ignore[no-untyped-call]
    try:
        code, checks = doctor(healthy, "--cluster", cluster.scheduler_address)
        assert code == 0 and checks["cluster"]["status"] == "ok" and "1 worker" in checks["cluster"]["detail"]

        client.register_plugin(OldPivot(), name=OldPivot.name)
        code, checks = doctor(healthy, "--cluster", cluster.scheduler_address)
        assert code == 1 and checks["cluster"]["status"] == "fail"
        assert "pivot 0.0.1" in checks["cluster"]["detail"] and "install pivot" in checks["cluster"]["fix"]
    finally:
        client.close()  # type: ignore[no-untyped-call]
        cluster.close()  # type: ignore[no-untyped-call]



def test_lock_files_of_removed_stages(healthy: Path) -> None:
    """A stage removed from its pipeline.py left its lock file behind, unreported: committed with
    the project and a gc root for its outputs. doctor names it (a warning: notebooks own locks too)."""
    write(healthy / "extra" / "pipeline.py",
          "from pivot import Pipeline\npipeline = Pipeline('extra')\n"
          "pipeline.register_cmd('gone', cmd=['echo hi > gone.txt'], outs=['gone.txt'])\n")
    run_cli(healthy, "repro", "--all")
    assert doctor(healthy)[1]["lock files"]["status"] == "ok"
    (healthy / "extra" / "pipeline.py").unlink()
    code, checks = doctor(healthy)
    assert code == 0 and checks["lock files"]["status"] == "warn"
    assert ".pivot/stages/extra/gone.lock" in checks["lock files"]["detail"]
    assert "notebook" in checks["lock files"]["fix"]
    assert (healthy / ".pivot" / "stages" / "extra" / "gone.lock").exists()  # reported, never deleted

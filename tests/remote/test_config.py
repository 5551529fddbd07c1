"""Config editing keeps comments; remote add/list/remove; the retry helper."""

from __future__ import annotations

from pathlib import Path

import pytest

from pivot.project import config_edit
from pivot.project.config import Config
from pivot.remote.retry import is_transient, retry
from tests.fixtures.project import run_cli

HEADER = "# team settings\ncache:\n  type: hardlink  # fast on one disk\n"


def test_set_and_unset_keep_comments(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(HEADER)
    config_edit.edit(path, "core.remote", "store")
    config_edit.edit(path, "remotes.store", {"url": "s3://b/p", "endpoint_url": "http://127.0.0.1:9"})
    text = path.read_text()
    assert "# team settings" in text and "# fast on one disk" in text
    config = Config.load(path)
    assert config.get("core.remote") == "store" and config.get("remotes.store.url") == "s3://b/p"
    assert config_edit.remove(path, "remotes.store.endpoint_url")
    assert config_edit.remove(path, "core.remote") and not config_edit.remove(path, "core.remote")
    assert "core" not in path.read_text()  # an emptied section goes too
    assert "# fast on one disk" in path.read_text()
    assert config_edit.parse_scalar("4") == 4 and config_edit.parse_scalar("true") is True
    assert config_edit.parse_scalar("s3://b/p") == "s3://b/p"


def test_remote_commands(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    run_cli(root, "init", env=env)
    run_cli(root, "remote", "add", "one", "s3://bucket/cache", "--default", "--endpoint-url", "http://e:9", env=env)
    run_cli(root, "remote", "add", "two", "file:///tmp/x", env=env)
    assert run_cli(root, "remote", "add", "two", "file:///tmp/y", env=env, check=False).code == 2
    rows = run_cli(root, "remote", "list", "--json", env=env).json()["remotes"]
    assert rows == [{"name": "one", "url": "s3://bucket/cache", "default": True},
                    {"name": "two", "url": "file:///tmp/x", "default": False}]
    assert run_cli(root, "config", "get", "remotes.one.endpoint_url", env=env).out.strip() == "http://e:9"
    assert "Pivot project configuration" in (root / ".pivot" / "config.yaml").read_text()
    run_cli(root, "remote", "remove", "one", env=env)
    assert run_cli(root, "config", "get", "core.remote", env=env, check=False).code == 1
    run_cli(root, "config", "set", "cache.type", "copy", "--global", env=env)
    assert "cache:\n  type: copy" in (tmp_path / "xdg" / "pivot" / "config.yaml").read_text()
    run_cli(root, "config", "unset", "cache.type", "--global", env=env)
    assert run_cli(root, "config", "get", "cache.type", "--global", env=env, check=False).code == 1


def test_retry_backs_off_on_transient_errors_only() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("503 SlowDown: please reduce your request rate")
        return "ok"

    assert retry(flaky, base_delay=0.001) == "ok" and len(calls) == 3
    assert is_transient(TimeoutError()) and not is_transient(FileNotFoundError("files/x"))
    with pytest.raises(PermissionError):
        retry(lambda: (_ for _ in ()).throw(PermissionError("denied")), base_delay=0.001)


def test_endpoint_url_from_remote_config_wins(tmp_path: Path, s3_bucket: str, s3_endpoint: str) -> None:
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    run_cli(root, "init")
    (root / "data" / "one.txt").write_text("one\n")
    run_cli(root, "track", "data/one.txt")
    run_cli(root, "remote", "add", "s3", s3_bucket + "/c", "--default", "--endpoint-url", s3_endpoint)
    bogus = {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9"}  # nothing listens there
    assert run_cli(root, "push", "--json", env=bogus).json()["transferred"] == 1

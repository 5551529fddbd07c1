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


def _tracked_project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    run_cli(root, "init")
    (root / "data" / "one.txt").write_text("one\n")
    run_cli(root, "track", "data/one.txt")
    return root


def test_endpoint_url_from_remote_config_wins(tmp_path: Path, s3_bucket: str, s3_endpoint: str) -> None:
    root = _tracked_project(tmp_path)
    run_cli(root, "remote", "add", "s3", s3_bucket + "/c", "--default", "--endpoint-url", s3_endpoint)
    bogus = {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9"}  # nothing listens there
    assert run_cli(root, "push", "--json", env=bogus).json()["transferred"] == 1


def test_remote_modify_default_rename(tmp_path: Path) -> None:
    """DVC's `remote modify/default/rename`: one option at a time, comments kept, bad input one line."""
    root = tmp_path / "p"
    root.mkdir()
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    run_cli(root, "init", env=env)
    config = root / ".pivot" / "config.yaml"
    config.write_text(config.read_text().replace("{}\n", "") + "remotes:\n  one: s3://bucket/cache  # the team's bucket\n")
    run_cli(root, "remote", "modify", "one", "endpointurl", "http://127.0.0.1:9000", env=env)  # DVC's name
    run_cli(root, "remote", "modify", "one", "region", "eu-west-1", env=env)
    run_cli(root, "remote", "modify", "one", "pack", "false", env=env)
    loaded = Config.load(config)
    assert loaded.get("remotes.one") == {"url": "s3://bucket/cache", "endpoint_url": "http://127.0.0.1:9000",
                                         "client_kwargs": {"region_name": "eu-west-1"}, "pack": False}
    assert "Pivot project configuration" in config.read_text()  # the file's comments are kept
    run_cli(root, "remote", "modify", "one", "region", "--unset", env=env)
    assert Config.load(config).get("remotes.one.client_kwargs") is None
    for args, says in ((("modify", "two", "url", "s3://b/x"), "no remote named 'two'"),
                       (("modify", "one", "pack", "maybe"), "pack must be true or false"),
                       (("modify", "one", "url", "nosuch://b/x"), "unknown protocol 'nosuch'"),
                       (("modify", "one", "url", "--unset"), "cannot be unset"),
                       (("modify", "one", "profile"), "--unset"),
                       (("default", "nope"), "no remote named 'nope'"),
                       (("rename", "one", "a.b"), "use letters, digits"),
                       (("add", "x/y", "s3://b/p"), "use letters, digits")):
        bad = run_cli(root, "remote", *args, env=env, check=False)
        assert bad.code == 2 and says in bad.err and "Traceback" not in bad.err, (args, bad.err)
    assert run_cli(root, "remote", "default", env=env, check=False).code == 1  # none yet
    run_cli(root, "remote", "default", "one", env=env)
    assert run_cli(root, "remote", "default", env=env).out.strip() == "one"
    run_cli(root, "remote", "rename", "one", "origin", env=env)
    rows = run_cli(root, "remote", "list", "--json", env=env).json()["remotes"]
    assert rows == [{"name": "origin", "url": "s3://bucket/cache", "default": True}]
    run_cli(root, "remote", "modify", "origin", "url", "s3://bucket/other", env=env)
    assert Config.load(config).get("remotes.origin.url") == "s3://bucket/other"
    run_cli(root, "remote", "default", "--unset", env=env)
    assert run_cli(root, "config", "get", "core.remote", env=env, check=False).code == 1


def test_remote_modify_endpoint_reaches_s3(tmp_path: Path, s3_bucket: str, s3_endpoint: str) -> None:
    """A remote added without its endpoint reaches the moto server once `remote modify` sets it."""
    root = _tracked_project(tmp_path)
    run_cli(root, "remote", "add", "s3", s3_bucket + "/m", "--default")
    run_cli(root, "remote", "modify", "s3", "endpointurl", s3_endpoint)
    bogus = {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9"}  # nothing listens there: the config must win
    assert run_cli(root, "push", "--json", env=bogus).json()["transferred"] == 1
    run_cli(root, "remote", "modify", "s3", "url", s3_bucket + "/moved")  # another, empty store
    assert run_cli(root, "push", "--json", env=bogus).json()["transferred"] == 1  # not "already there"
    (root / ".pivot" / "cache").rename(root / "old-cache")
    run_cli(root, "pull", env=bogus)
    assert (root / "data" / "one.txt").read_text() == "one\n"

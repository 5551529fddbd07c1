"""push / pull of many small files and a few big ones against a local moto S3 server."""

from __future__ import annotations

import logging
import os
import pathlib
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.benchmarks import dvc_env
from tests.benchmarks.common import (
    REPO,
    WORK,
    Config,
    Row,
    SetupError,
    log,
    pivot_argv,
    pivot_env,
    run_checked,
)
from tests.benchmarks.measure import Sample, Series, run

ROOT = WORK / "remote"
TRACKED = ("data/small", "data/big")
CACHE_DIR = {"pivot": ".pivot/cache", "dvc": ".dvc/cache"}


@contextmanager
def moto_s3() -> Iterator[dict[str, str]]:
    """A ThreadedMotoServer on 127.0.0.1 and the AWS environment that points at it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield {
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}",
            "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
        }
    finally:
        server.stop()


def _make_data(cfg: Config) -> pathlib.Path:
    src = ROOT / f"data-{cfg.push_small}x1k-{cfg.push_big}x{cfg.big_mb}mb"
    if (src / ".done").exists():
        return src
    log(f"writing push/pull data to {src} ...")
    shutil.rmtree(src, ignore_errors=True)
    (src / "small").mkdir(parents=True)
    (src / "big").mkdir()
    for i in range(cfg.push_small):
        (src / "small" / f"f{i:04d}.bin").write_bytes(os.urandom(1024))
    for i in range(cfg.push_big):
        with open(src / "big" / f"b{i}.bin", "wb") as f:
            for _ in range(cfg.big_mb):
                f.write(os.urandom(1_000_000))
    (src / ".done").touch()
    return src


def _project(tool: str, data: pathlib.Path, env: dict[str, str]) -> pathlib.Path:
    root = ROOT / tool
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    shutil.copytree(data / "small", root / "data" / "small")
    shutil.copytree(data / "big", root / "data" / "big")
    if tool == "dvc":
        dvc_env.init_project_plain(root)
        dvc_env.run(["add", "-q", *TRACKED], root)
    else:
        run_checked(pivot_argv("init"), root, env, "pivot init")
        for t in TRACKED:
            run_checked(pivot_argv("track", t), root, env, f"pivot track {t}")
    return root


def _argv(tool: str, *args: str) -> list[str]:
    return pivot_argv(*args) if tool == "pivot" else [*dvc_env.dvc_cmd(), *args]


def _count_files(root: pathlib.Path, cfg: Config, under: str = "data") -> str | None:
    small = len(list((root / under / "small").glob("*.bin")))
    big = [p.stat().st_size for p in (root / under / "big").glob("*.bin")]
    if small != cfg.push_small or len(big) != cfg.push_big or any(b != cfg.big_mb * 10**6 for b in big):
        return f"pull restored {small} small / {len(big)} big files, expected {cfg.push_small} / {cfg.push_big}"
    return None


OPS = ("push", "pull", "push_noop", "pull_noop")
LIMIT_JOBS = 64  # requests in flight for the limit row (and its client's connection pool)


def push_pull(cfg: Config) -> list[Row]:
    import boto3  # type: ignore[import-untyped]

    data = _make_data(cfg)
    series = {(op, t): Series() for op in OPS for t in ("pivot", "dvc")}
    series |= {(op, "limit"): Series() for op in ("push", "pull")}
    with moto_s3() as aws:
        s3 = boto3.client("s3", endpoint_url=aws["AWS_ENDPOINT_URL_S3"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        envs = {"pivot": pivot_env() | aws, "dvc": dvc_env.env() | aws, "limit": pivot_env() | aws}
        roots: dict[str, pathlib.Path] = {"limit": data}
        for tool in ("pivot", "dvc"):
            try:
                roots[tool] = _project(tool, data, envs[tool])
            except (SetupError, RuntimeError, OSError) as exc:
                msg = f"setup: {exc}".splitlines()[0]
                for op in OPS:
                    series[op, tool].error = msg
                log(f"push/pull {tool}: {msg}")
        reps = {"pivot": cfg.pivot_reps, "dvc": cfg.dvc_reps, "limit": cfg.pivot_reps}
        for i in range(-1, max(reps.values())):  # -1 = warm-up; the three alternate round by round
            for tool, root in roots.items():
                if i < reps[tool] and series["push", tool].error is None:
                    one = _limit_round if tool == "limit" else _one_round
                    one(tool, root, i, envs[tool], s3, aws, series, cfg)
    label = f"dvc {dvc_env.dvc_version()} + dvc-s3"
    what = f"{cfg.push_small} x 1 KiB + {cfg.push_big} x {cfg.big_mb} MB, moto S3"
    limit = f"plain s3fs batch, {LIMIT_JOBS} in flight, no checks"
    return [
        Row("push", f"push ({what})", None, series["push", "pivot"], label, series["push", "dvc"]),
        Row("pull", f"pull ({what})", None, series["pull", "pivot"], label, series["pull", "dvc"]),
        Row("push_limit", "push vs the same files moved by one s3fs client (limit)", None,
            series["push", "pivot"], limit, series["push", "limit"]),
        Row("pull_limit", "pull vs the same files moved by one s3fs client (limit)", None,
            series["pull", "pivot"], limit, series["pull", "limit"]),
        Row("push_noop", "no-op push (everything already on the remote)", None,
            series["push_noop", "pivot"], label, series["push_noop", "dvc"]),
        Row("pull_noop", "no-op pull (everything already here)", None,
            series["pull_noop", "pivot"], label, series["pull_noop", "dvc"]),
    ]


def _one_round(tool: str, root: pathlib.Path, i: int, env: dict[str, str], s3: object,
               aws: dict[str, str], series: dict[tuple[str, str], Series], cfg: Config) -> None:
    bucket, remote = f"bench-{tool}-{i + 1}", f"r{i + 1}"
    s3.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]

    def timed(op: str, check: Callable[[], str | None] = lambda: None) -> bool:
        verb = op.split("_")[0]
        return _timed(op, tool, i, run(_argv(tool, verb, "-r", remote), root, env, cfg.timeout),
                      series[op, tool], check)

    try:
        _add_remote(tool, root, remote, f"s3://{bucket}/store", env, aws)
        if not timed("push") or not timed("push_noop"):
            return
        cache = root / CACHE_DIR[tool]
        if not cache.is_dir():
            series["pull", tool].error = f"setup: no local cache at {CACHE_DIR[tool]} to empty"
            return
        shutil.rmtree(cache)
        for t in TRACKED:
            shutil.rmtree(root / t, ignore_errors=True)
        if timed("pull", lambda: _count_files(root, cfg)):
            timed("pull_noop", lambda: _count_files(root, cfg))
    except SetupError as exc:
        series["push", tool].error = f"setup: {exc}".splitlines()[0]
    finally:
        _empty_bucket(s3, bucket)


def _limit_round(tool: str, data: pathlib.Path, i: int, env: dict[str, str], s3: object,
                 aws: dict[str, str], series: dict[tuple[str, str], Series], cfg: Config) -> None:
    """tests.benchmarks.raw_s3: the same files up, then down into an empty folder."""
    import sys

    bucket = f"bench-limit-{i + 1}"
    s3.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    down = ROOT / "limit-down"
    raw = [sys.executable, "-m", "tests.benchmarks.raw_s3"]
    try:
        url = f"s3://{bucket}/raw"
        if not _timed("push", tool, i, run([*raw, "put", str(data), url, str(LIMIT_JOBS)], REPO, env,
                                           cfg.timeout), series["push", tool], lambda: None):
            return
        shutil.rmtree(down, ignore_errors=True)
        _timed("pull", tool, i, run([*raw, "get", str(down), url, str(LIMIT_JOBS)], REPO, env, cfg.timeout),
               series["pull", tool], lambda: _count_files(down, cfg, ""))
    finally:
        shutil.rmtree(down, ignore_errors=True)
        _empty_bucket(s3, bucket)


def _add_remote(tool: str, root: pathlib.Path, name: str, url: str, env: dict[str, str],
                aws: dict[str, str]) -> None:
    run_checked(_argv(tool, "remote", "add", name, url), root, env, f"{tool} remote add")
    if tool == "dvc":
        run_checked(_argv(tool, "remote", "modify", name, "endpointurl",
                          aws["AWS_ENDPOINT_URL_S3"]), root, env, "dvc remote modify")


def _timed(op: str, tool: str, i: int, s: Sample, series: Series,
           check: Callable[[], str | None]) -> bool:
    problem = s.error_line() if not s.ok else check()
    if problem:
        series.error = problem
        log(f"{op} {tool}: error: {problem}")
        return False
    log(f"{op} {tool} {'warm-up' if i < 0 else f'#{i + 1}'}: {s.wall_s:.3f} s, {s.peak_rss_mb:.0f} MB")
    if i >= 0:
        series.samples.append(s)
    return True


def _empty_bucket(s3: object, bucket: str) -> None:
    # Moto keeps objects in memory: drop each round's 250 MB before the next.
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)  # type: ignore[attr-defined]
    for page in pages:
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})  # type: ignore[attr-defined]
    s3.delete_bucket(Bucket=bucket)  # type: ignore[attr-defined]

"""Isolated workers with the cache on S3 (moto) vs a shared cache, on the same cluster.

One LocalCluster (2 worker processes, 1 thread each) serves both arms, started by this
process after the moto server's AWS variables are set, so its workers reach the server.
moto runs as its own process (`moto_server`), as S3 would be elsewhere: in this process
its request handling would hold the GIL against the cluster's scheduler.
Each repeat is a fresh copy of the generated project: the shared arm keeps the cache
in the project (workers write it directly), the isolated arm puts it under a new S3
prefix (nothing to restore) with `cluster.mode: isolated`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pathlib
from collections.abc import Iterator

from tests.benchmarks.common import (
    Arm,
    Config,
    Row,
    SetupError,
    alternate,
    log,
    pivot_argv,
    pivot_env,
    run_checked,
)
from tests.benchmarks.scenarios import Projects, _leaf_exists, repro_argv

N = 500
_prefixes = itertools.count(1)


@contextlib.contextmanager
def _moto() -> Iterator[dict[str, str]]:
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = pathlib.Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SetupError("moto_server did not start")
        yield {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": url,
               "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required"}
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def _cluster(aws: dict[str, str]) -> Iterator[str]:
    from distributed import LocalCluster

    saved = {k: os.environ.get(k) for k in aws}
    os.environ.update(aws)  # the worker processes inherit them
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,  # type: ignore[no-untyped-call]
                          dashboard_address=None) as cluster:
            yield str(cluster.scheduler_address)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def isolated_vs_shared(cfg: Config, projects: Projects) -> Row:
    import boto3  # type: ignore[import-untyped]

    n = N if not cfg.quick else 100
    with _moto() as aws, _cluster(aws) as address:
        boto3.client("s3", endpoint_url=aws["AWS_ENDPOINT_URL_S3"], region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing").create_bucket(Bucket="bench-iso")
        env = pivot_env() | aws

        def prep(mode: str):  # type: ignore[no-untyped-def]
            def make(_i: int) -> pathlib.Path:
                root = projects.copy(projects.pivot_template(n), f"iso-{mode}-n{n}")
                run_checked(pivot_argv("config", "set", "cluster.mode", mode), root, env, "config")
                if mode == "isolated":
                    url = f"s3://bench-iso/cache-{next(_prefixes)}"
                    run_checked(pivot_argv("config", "set", "cache.dir", url), root, env, "config")
                return root
            return make

        argv = repro_argv(cfg, "--cluster", address, "-q")
        log(f"isolated vs shared on {address}, N={n}")
        try:
            res = alternate(f"isolated_s3 N={n}", [
                Arm("pivot", cfg.pivot_reps, prep("isolated"), argv, env, _leaf_exists(n)),
                Arm("shared", cfg.pivot_reps, prep("shared"), argv, env, _leaf_exists(n)),
            ], cfg.timeout)
        except SetupError as exc:
            raise SetupError(f"isolated_s3: {exc}") from exc
    return Row("isolated_s3", "fresh run, isolated workers, cache on S3 (moto) vs shared cache, same cluster", n,
               res["pivot"], "shared cache, same LocalCluster", res["shared"])

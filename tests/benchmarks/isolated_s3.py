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
def _moto() -> Iterator[tuple[dict[str, str], int]]:
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
        yield ({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": url,
                "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required"}, proc.pid)
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
    with _moto() as (aws, moto_pid), _cluster(aws) as address:
        client = boto3.client("s3", endpoint_url=aws["AWS_ENDPOINT_URL_S3"], region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_bucket(Bucket="bench-iso")
        put_cpu = _bare_put_cpu(aws["AWS_ENDPOINT_URL_S3"], moto_pid)
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
        before = _cpu(moto_pid)
        try:
            res = alternate(f"isolated_s3 N={n}", [
                Arm("pivot", cfg.pivot_reps, prep("isolated"), argv, env, _leaf_exists(n)),
                Arm("shared", cfg.pivot_reps, prep("shared"), argv, env, _leaf_exists(n)),
            ], cfg.timeout)
        except SetupError as exc:
            raise SetupError(f"isolated_s3: {exc}") from exc
        runs = cfg.pivot_reps + 1  # the warm-up too; the shared arm never asks the server anything
        server_cpu = (_cpu(moto_pid) - before) / runs
    row = Row("isolated_s3", "fresh run, isolated workers, cache on S3 (moto) vs shared cache, same cluster", n,
               res["pivot"], "shared cache, same LocalCluster", res["shared"])
    row.extra["note"] = _floor_note(n, server_cpu, put_cpu, row)
    return row


def _cpu(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def _bare_put_cpu(endpoint: str, moto_pid: int, count: int = 300) -> float:
    """The server's CPU for the cheapest PUT of a small object (1 KiB, signed URL, Content-MD5, one
    kept-alive connection, one at a time, in a bucket of its own): what each of the run's required
    uploads costs moto at the least. Signed before the clock starts."""
    import base64
    import hashlib
    import http.client
    from urllib.parse import urlsplit

    import boto3
    from botocore.config import Config as BotoConfig  # type: ignore[import-untyped]

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing",
                          config=BotoConfig(signature_version="s3v4", s3={"addressing_style": "path"}))
    client.create_bucket(Bucket="bench-probe")
    requests = []
    for i in range(count):
        body = b"%d" % i + b"x" * 1024
        md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
        url = urlsplit(client.generate_presigned_url(
            "put_object", Params={"Bucket": "bench-probe", "Key": f"probe/{i}", "ContentMD5": md5}))
        requests.append((url.netloc, f"{url.path}?{url.query}", body, md5))
    conn: http.client.HTTPConnection | None = None
    start = _cpu(moto_pid)
    for netloc, target, body, md5 in requests:
        conn = conn or http.client.HTTPConnection(netloc, timeout=30)
        conn.request("PUT", target, body=body, headers={"Content-MD5": md5})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise SetupError(f"isolated_s3: probe PUT answered HTTP {resp.status}")
        if resp.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = None
    return (_cpu(moto_pid) - start) / count


def _floor_note(n: int, server_cpu: float, put_cpu: float, row: Row) -> str:
    """The row's floor on this set-up: the shared run plus what moto needs for the uploads DESIGN
    rules 7 and 8 require (each output object and each run record is one PUT), spread over the
    machine's cores, before any client or worker work of isolation."""
    uploads = 2 * n
    text = (f"moto_server CPU per isolated run: {server_cpu:.1f} s; one bare 1 KiB PUT costs it "
            f"{put_cpu * 1000:.1f} ms, so the {uploads:,} uploads rules 7-8 require cost it "
            f"{uploads * put_cpu:.1f} s of CPU on the same {os.cpu_count()} cores")
    if row.base is not None and row.base.wall is not None:
        floor = row.base.wall.median + uploads * put_cpu / (os.cpu_count() or 1)
        text += f": floor ≈ shared + that spread on the cores = {floor:.2f} s ({floor / row.base.wall.median:.2f}x)"
    return text

"""`pivot repro --jsonl` and `pivot repro --watch`: the repro command's streaming and watch modes.

Only wiring: every run is an ordinary ``pivot.api.repro`` (same planner, same
history record); this module feeds its events to the JSONL sink or the console
and, in watch mode, loops on the watcher in ``pivot.watch``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click


@dataclass
class StreamOptions:
    targets: list[str]
    all_: bool = False
    force: bool = False
    keep_going: bool = False
    jobs: int | None = None
    cluster: str | None = None
    workers: int | None = None
    no_wait: bool = False
    pull: bool = False
    jsonl: bool = False
    debounce_ms: int | None = None
    downstream: bool = False
    executor: Any = None
    sink: Any = field(default=None)


def repro_stream(opts: StreamOptions, *, watch: bool) -> None:
    """Entry point from `pivot repro`: exits with the (last) run's code."""
    if opts.jsonl:
        from pivot.report.jsonl import JsonlSink

        opts.sink = JsonlSink()
        opts.sink.schema_line()
    if opts.pull:
        from pivot.remote import transfer
        from pivot.report.transfer_progress import transfer_progress

        with transfer_progress("fetch", enabled=not opts.jsonl) as bar:
            transfer.fetch(opts.targets, all=opts.all_ or not opts.targets, progress=bar)
    if not watch:
        sys.exit(_one_run(opts, force=opts.force))
    _watch(opts)


def _executor_label(cluster: str | None) -> str:
    from pivot import api
    from pivot.errors import PivotError
    from pivot.project.config import Config
    from pivot.project.layout import Layout

    address = cluster or os.environ.get("PIVOT_CLUSTER")
    if not address:
        try:
            address = Config.load(Layout(api.find_root()).config_file).get("cluster.address")
        except PivotError:
            address = None  # the run itself reports the problem, in its run_end
    return "local" if not address else ("local cluster" if address == "local" else str(address))


def _one_run(opts: StreamOptions, *, force: bool) -> int:
    """One repro, reported as JSONL or on the console; its exit code. Errors are reported, not raised."""
    from pivot import api, history
    from pivot.errors import PivotError
    from pivot.report import console

    run_id = history.new_run_id()
    sink = opts.sink
    if sink is not None:
        sink.run_start(run_id, opts.targets, _executor_label(opts.cluster))
    try:
        with console.progress_display(enabled=sink is None) as progress:
            report = api.repro(opts.targets, all=opts.all_, force=force, keep_going=opts.keep_going, jobs=opts.jobs,
                               cluster=opts.cluster, workers=opts.workers, wait=not opts.no_wait,
                               progress=sink or progress, on_wait=sink.notice if sink else console.say,
                               run_id=run_id, executor=opts.executor, downstream=opts.downstream)
    except PivotError as exc:
        if sink is not None:
            sink.run_end(None, exc.exit_code, str(exc))
        else:
            click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        if sink is not None:
            sink.run_end(None, 130, "interrupted")
        raise
    code = 1 if report.failed else 0
    if sink is not None:
        sink.run_end(report, code)
    else:
        console.print_run(report)
    return code


def _watch(opts: StreamOptions) -> None:
    """Run, then wait for a wanted change, forever. Ctrl-C while idle exits 0; during a run,
    the run stops as any interrupted repro does (nothing half-committed) and the exit is 130."""
    from pivot import api
    from pivot.watch import DEFAULT_DEBOUNCE_MS, Watcher, describe

    root = api.find_root()
    debounce = opts.debounce_ms if opts.debounce_ms is not None else _configured_debounce(root, DEFAULT_DEBOUNCE_MS)
    watcher = Watcher(root, debounce)
    watcher.start()  # before the first plan: an edit made while it runs is not lost
    running = False
    try:
        force = opts.force
        while True:
            _refresh(watcher, opts)
            running = True
            _one_run(opts, force=force)
            running, force = False, False  # --force applies to the first run only
            _say(opts, f"watching {len(watcher.current)} paths for changes (Ctrl-C to stop)",
                 watching=len(watcher.current))
            _say(opts, f"changed: {describe(watcher.next_batch())}")
    except KeyboardInterrupt:
        _say(opts, "stopped watching")
        if running:
            raise
    finally:
        watcher.stop()
        if opts.executor is not None:
            opts.executor.close()


def _refresh(watcher: Any, opts: StreamOptions) -> None:
    """Re-read what the plan depends on; on a broken project keep the last good set."""
    from pivot import api
    from pivot.watch import watch_set

    try:
        with api.session() as s:
            scope = s.scope(opts.targets, all_pipelines=opts.all_, downstream=opts.downstream)
            watcher.current = watch_set(s, scope)
            if opts.executor is None and _uses_cluster(s, opts.cluster):
                opts.executor = api.make_executor(s, opts.cluster, jobs=opts.jobs, workers=opts.workers)
            refresh = getattr(opts.executor, "refresh_code", None)
            if callable(refresh):
                refresh()
    except Exception:  # the run that follows reports the error; keep watching
        return


def _uses_cluster(s: Any, cluster: str | None) -> bool:
    return bool(cluster or os.environ.get("PIVOT_CLUSTER") or s.ws.config.get("cluster.address"))


def _configured_debounce(root: Path, default: int) -> int:
    from pivot.errors import ConfigError
    from pivot.project.config import Config
    from pivot.project.layout import Layout

    raw = Config.load(Layout(root).config_file).get("watch.debounce", default)
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f".pivot/config.yaml: watch.debounce {raw!r}: use milliseconds, e.g. 300",
                          path=".pivot/config.yaml") from exc


def _say(opts: StreamOptions, message: str, *, watching: int | None = None) -> None:
    if opts.sink is None:
        click.echo(message, err=True)
    elif watching is not None:
        opts.sink.emit("watching", paths=watching)
    else:
        opts.sink.notice(message)

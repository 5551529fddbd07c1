"""`pivot` command line: parse options, call pivot.api, hand the result to report.

Heavy modules are imported inside commands so `pivot --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from pivot import __version__
from pivot.cli.common import emit as emit_json

F = TypeVar("F", bound=Callable[..., Any])


class PivotGroup(click.Group):
    """Turns Pivot's own errors into one line and an exit code; --verbose shows the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from pivot.errors import PivotError

        try:
            return super().invoke(ctx)
        except PivotError as exc:
            if ctx.obj and ctx.obj.get("verbose"):
                raise
            click.echo(f"error: {_one_line(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # `pivot history | head`: the reader left, as SIGPIPE would end a C tool
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
            ctx.exit(141)
        except Exception as exc:  # a library error no boundary translated: still one line, exit 2
            if ctx.obj and ctx.obj.get("verbose"):
                raise
            click.echo(f"error: {type(exc).__name__}: {_one_line(str(exc))} (unexpected; `pivot --verbose ...` "
                       "shows where)", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: nothing half-committed; run `pivot repro` again to finish", err=True)
            ctx.exit(130)


def _one_line(text: str) -> str:
    return " ".join(text.split())


@click.group(cls=PivotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pivot")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Pivot: typed Python pipelines that run only what changed."""
    ctx.obj = {"verbose": verbose}
    import logging

    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s: %(message)s")


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON only.")(func)


def quiet_option(func: F) -> F:
    return click.option("-q", "--quiet", is_flag=True, help="Do not show the stages' own output.")(func)


def downstream_option(func: F) -> F:
    return click.option("--downstream", is_flag=True,
                        help="The targets and every stage that depends on them (not their upstream).")(func)


@cli.command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
def init(path: str | None) -> None:
    """Create .pivot/ here (or in PATH): the project root."""
    from pivot import api

    root = api.init(path)
    click.echo(f"initialised Pivot project in {root}")


@cli.command("list")
@json_option
def list_cmd(as_json: bool) -> None:
    """List every stage with its dependencies and outputs."""
    from pivot import api
    from pivot.report import console

    specs = api.list_stages()
    if as_json:
        emit_json({"stages": [console.spec_json(s) for s in specs]})
    else:
        console.print_stage_list(specs)


@cli.command()
@click.option("--mermaid", "fmt", flag_value="mermaid")
@click.option("--dot", "fmt", flag_value="dot")
@click.option("--json", "fmt", flag_value="json")
def dag(fmt: str | None) -> None:
    """Print the stage graph (text, Mermaid, Graphviz dot or JSON)."""
    from pivot import api
    from pivot.report import graph_text

    with api.session() as s:
        click.echo(graph_text.render(s.graph, fmt or "text"))


def scope_options(func: F) -> F:
    func = click.option("--all", "all_", is_flag=True, help="Every pipeline in the project.")(func)
    return click.argument("targets", nargs=-1)(func)


@cli.command()
@scope_options
@click.option("--explain", "-e", is_flag=True, help="Say why each stage would run.")
@click.option("-q", "--quiet", is_flag=True, help="No output; exit 1 when anything is stale.")
@click.option("--remote", "remote", is_flag=True, help="Count objects to push to and pull from the default remote.")
@downstream_option
@json_option
def status(targets: tuple[str, ...], all_: bool, explain: bool, quiet: bool, remote: bool, downstream: bool,
           as_json: bool) -> None:
    """Show which stages are stale and why (never runs anything)."""
    from pivot import api
    from pivot.report import console

    if remote:
        from pivot.remote import status as remote_status

        counts = remote_status.status_remote(list(targets) or None)
        if as_json:
            emit_json(counts.to_json())
        else:
            data = counts.to_json()
            click.echo(f"remote {data['remote']} ({data['url']}): {data['to_push']} to push, {data['to_pull']} to pull")
        return
    report = api.status(list(targets), all=all_, explain=explain, downstream=downstream)
    if as_json:
        emit_json(report.to_json())
    elif not quiet:
        console.print_status(report)
    if quiet and report.stale:
        sys.exit(1)


@cli.command()
@scope_options
@click.option("-f", "--force", is_flag=True, help="Run the targets even if up to date.")
@click.option("-n", "--dry-run", is_flag=True, help="Show what would run; run nothing.")
@click.option("-e", "--explain", is_flag=True, help="With the plan, say why each stage runs.")
@click.option("-j", "--jobs", type=int, default=None, help="Parallel stages (default: CPU count).")
@click.option("-k", "--keep-going", is_flag=True, help="On failure, still run what does not depend on it.")
@click.option("--cluster", default=None, help="'local' or tcp://HOST:PORT of a Dask scheduler.")
@click.option("--workers", type=int, default=None, help="Workers for --cluster local.")
@click.option("--pull", is_flag=True, help="Fetch outputs and run-cache records from the remote first.")
@click.option("--no-wait", is_flag=True, help="Exit instead of waiting when another pivot runs here.")
@click.option("--watch", is_flag=True, help="Keep running: re-run what changed files affect (Ctrl-C stops).")
@click.option("--jsonl", is_flag=True, help="Write one JSON event a line on stdout (schema in the README).")
@click.option("--debounce", "debounce_ms", type=click.IntRange(min=0), default=None, metavar="MS",
              help="--watch: quiet time before re-planning (default: config watch.debounce or 300).")
@downstream_option
@quiet_option
@json_option
def repro(targets: tuple[str, ...], all_: bool, force: bool, dry_run: bool, explain: bool, jobs: int | None,
          keep_going: bool, cluster: str | None, workers: int | None, pull: bool, no_wait: bool, watch: bool,
          jsonl: bool, debounce_ms: int | None, downstream: bool, quiet: bool, as_json: bool) -> None:
    """Bring the targets and their upstream up to date, running only what changed."""
    if (watch or jsonl) and not dry_run:
        from pivot.cli.stream_cmds import StreamOptions, repro_stream

        return repro_stream(StreamOptions(list(targets), all_, force, keep_going, jobs, cluster, workers, no_wait,
                                          pull, jsonl, debounce_ms, downstream), watch=watch)
    _run(list(targets), all_=all_, force=force, dry_run=dry_run, explain=explain, jobs=jobs, keep_going=keep_going,
         cluster=cluster, workers=workers, pull=pull, no_wait=no_wait, as_json=as_json, upstream=True, quiet=quiet,
         downstream=downstream)


@cli.command()
@click.argument("stages", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Run even if up to date.")
@click.option("-j", "--jobs", type=int, default=None)
@click.option("-k", "--keep-going", is_flag=True)
@click.option("--cluster", default=None)
@quiet_option
@json_option
def run(stages: tuple[str, ...], force: bool, jobs: int | None, keep_going: bool, cluster: str | None, quiet: bool,
        as_json: bool) -> None:
    """Run only these stages (no upstream)."""
    _run(list(stages), all_=False, force=force, dry_run=False, explain=False, jobs=jobs, keep_going=keep_going,
         cluster=cluster, workers=None, pull=False, no_wait=False, as_json=as_json, upstream=False, quiet=quiet)


def _run(targets: list[str], *, all_: bool, force: bool, dry_run: bool, explain: bool, jobs: int | None,
         keep_going: bool, cluster: str | None, workers: int | None, pull: bool, no_wait: bool,
         as_json: bool, upstream: bool, quiet: bool = False, downstream: bool = False) -> None:
    from pivot import api
    from pivot.report import console

    if pull:
        from pivot.remote import transfer
        from pivot.report.transfer_progress import transfer_progress

        with transfer_progress("fetch", enabled=not as_json) as bar:
            transfer.fetch(targets, all=all_ or not targets, progress=bar)
    if dry_run:
        plan = api.status(targets, all=all_, explain=True, force=force, downstream=downstream)
        if as_json:
            emit_json(plan.to_json())
        else:
            console.print_status(plan, dry_run=True)
        return
    if explain and not as_json:
        console.print_status(api.status(targets, all=all_, explain=True, force=force, downstream=downstream),
                             dry_run=True)
    with console.progress_display(enabled=not as_json, quiet=quiet) as progress:
        report = api.repro(targets, all=all_, force=force, keep_going=keep_going, jobs=jobs, cluster=cluster,
                           workers=workers, upstream=upstream, downstream=downstream, wait=not no_wait,
                           progress=progress, on_wait=None if as_json else console.say)
    if as_json:
        emit_json(report.to_json())
    elif not report.cluster_lost:
        console.print_run(report)
    if report.cluster_lost:
        from pivot.errors import ClusterLostError

        raise ClusterLostError(report.cluster_lost)  # one message, exit code 3
    if not report.ok:  # a failed or a blocked stage: the targets are not up to date
        sys.exit(1)


@cli.command()
@scope_options
@click.option("--allow-missing", is_flag=True, help="Outputs may be on the remote instead of the local cache.")
@click.option("--cache", "cache", is_flag=True, help="Re-hash every cache object the workspace references; "
              "move bad ones to quarantine. Exit 1 if any was bad.")
@json_option
def verify(targets: tuple[str, ...], all_: bool, allow_missing: bool, cache: bool, as_json: bool) -> None:
    """CI check: every stage up to date and every output available. Exit 1 otherwise."""
    from pivot import api
    from pivot.report import console

    if cache:
        from pivot.cli.cache_check import verify_cache_cmd

        verify_cache_cmd(as_json)
        return

    report = api.verify(list(targets), all=True, allow_missing=allow_missing)
    if as_json:
        emit_json(report.to_json())
    else:
        console.print_verify(report)
    if not report.passed:
        sys.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Update an existing .pvt to the current content.")
def track(paths: tuple[str, ...], force: bool) -> None:
    """Put data files or folders under Pivot's control (writes PATH.pvt)."""
    from pivot import api

    for rel in api.track(list(paths), force=force):
        click.echo(f"tracked {rel}")


@cli.command()
@click.argument("paths", nargs=-1, required=True)
def untrack(paths: tuple[str, ...]) -> None:
    """Stop tracking data (its .pvt and .gitignore line go; the data stays)."""
    from pivot import api

    for rel in api.untrack(list(paths)):
        click.echo(f"untracked {rel} (the data stays; its cache objects go at the next gc)")


@cli.command()
@click.argument("targets", nargs=-1)
@click.option("-f", "--force", is_flag=True, help="Also overwrite changes whose bytes are in no cache.")
def checkout(targets: tuple[str, ...], force: bool) -> None:
    """Restore tracked files and stage outputs from the cache (TARGETS: stages or tracked paths)."""
    from pivot import api

    restored = api.checkout(list(targets), force=force)
    click.echo(f"restored {len(restored)} path(s)")


@cli.command()
@click.argument("stages", nargs=-1)
def commit(stages: tuple[str, ...]) -> None:
    """Record the workspace's current outputs as the stages' results, without running them."""
    from pivot import api

    for stage in api.commit(list(stages)):
        click.echo(f"committed {stage}")


def _register_optional() -> None:
    try:
        from pivot.cli import remote_cmds
    except ImportError:  # pragma: no cover - the remote commands are always shipped
        return
    remote_cmds.register(cli)
    from pivot.cli.exp_cmds import exp_group
    from pivot.cli.remote_group_cmds import remote_group

    cli.add_command(exp_group)
    cli.add_command(remote_group)
    from pivot.cli import migrate_cmds  # import-dvc, export-dvc

    migrate_cmds.register(cli)


_register_optional()

from pivot.cli import show_cmds  # noqa: E402  (metrics, params, plots, diff, get: issue 14)

cli.add_command(show_cmds.metrics)
cli.add_command(show_cmds.params)
cli.add_command(show_cmds.plots)
cli.add_command(show_cmds.diff)
cli.add_command(show_cmds.get)
from pivot.cli import completion_cmds, doctor_cmds, history_cmds, hooks_cmds, move_cmds  # noqa: E402 - after the core

history_cmds.register(cli)
hooks_cmds.register(cli)
move_cmds.register(cli)
doctor_cmds.register(cli)
completion_cmds.register(cli)  # keep last: it gives the commands registered above their completers


def main() -> None:
    cli(prog_name="pivot")


if __name__ == "__main__":
    main()

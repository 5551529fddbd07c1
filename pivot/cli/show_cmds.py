"""`metrics`, `params`, `plots`, `diff` and `get`: options in, ``pivot.show.api`` called, a table out.

Every command prints a text table, or ``--json`` (stable shapes) or ``--md``
(a Markdown table, for pull-request comments).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _formats(func: F) -> F:
    """--json, --md or --csv (as DVC's show and diff commands); one ``fmt`` parameter, "text" by default."""
    func = click.option("--text", "fmt", flag_value="text", default=True, hidden=True)(func)
    func = click.option("--csv", "fmt", flag_value="csv", help="Print CSV (a header row, then the rows).")(func)
    func = click.option("--md", "fmt", flag_value="md", help="Print a Markdown table.")(func)
    return click.option("--json", "fmt", flag_value="json", help="Print JSON only.")(func)


def _emit(result: Any, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2, default=str))
    elif fmt == "md":
        click.echo(result.to_markdown())
    elif fmt == "csv":
        click.echo(result.to_csv(), nl=False)
    else:
        click.echo(result.to_text())


_precision = click.option("--precision", type=click.IntRange(1, 17), default=5, show_default=True,
                          help="Significant digits of floating-point values.")
_all = click.option("--all", "all_", is_flag=True, help="Include unchanged values.")


@click.group()
def metrics() -> None:
    """Show and compare metrics (JSON, YAML, CSV/TSV metric outputs)."""


@metrics.command("show")
@click.argument("targets", nargs=-1)
@click.option("--rev", default=None, help="A git revision instead of the workspace.")
@_precision
@_formats
def metrics_show(targets: tuple[str, ...], rev: str | None, precision: int, fmt: str) -> None:
    """Every metric of TARGETS (stages or paths; default all), nested keys flattened."""
    from pivot.show import api

    _emit(api.metrics(list(targets), rev=rev, precision=precision), fmt)


@metrics.command("diff")
@click.argument("a_rev", default="HEAD")
@click.argument("b_rev", required=False)
@click.option("--targets", "-t", multiple=True, help="Only these stages or metric paths.")
@_all
@_precision
@_formats
def metrics_diff(a_rev: str, b_rev: str | None, targets: tuple[str, ...], all_: bool, precision: int,
                 fmt: str) -> None:
    """Metrics changed from A_REV (default HEAD) to B_REV (default: the workspace)."""
    from pivot.show import api

    _emit(api.metrics_diff(a_rev, b_rev, targets=list(targets), all=all_, precision=precision), fmt)


@click.group()
def params() -> None:
    """Show and compare the params stages use."""


@params.command("show")
@click.argument("stages", nargs=-1)
@click.option("--rev", default=None, help="What the results at this git revision were made with.")
@_formats
def params_show(stages: tuple[str, ...], rev: str | None, fmt: str) -> None:
    """Effective params per stage: defaults merged with params.yaml (shell stages: the keys they read)."""
    from pivot.show import api

    _emit(api.params(list(stages), rev=rev), fmt)


@params.command("diff")
@click.argument("a_rev", default="HEAD")
@click.argument("b_rev", required=False)
@click.option("--stages", "-s", multiple=True, help="Only these stages.")
@_all
@_formats
def params_diff(a_rev: str, b_rev: str | None, stages: tuple[str, ...], all_: bool, fmt: str) -> None:
    """Params changed from A_REV (default HEAD) to B_REV (default: the workspace), per stage."""
    from pivot.show import api

    _emit(api.params_diff(a_rev, b_rev, stages=list(stages), all=all_), fmt)


@click.group()
def plots() -> None:
    """Draw plot outputs to one offline HTML page."""


def _plot_options(func: F) -> F:
    func = click.option("--open", "open_", is_flag=True, help="Open the page in a browser.")(func)
    func = click.option("-o", "--out", "out", default="pivot_plots", show_default=True,
                        type=click.Path(file_okay=False), help="Folder of index.html.")(func)
    return _formats(func)


def _write_plots(result: Any, out: str, open_: bool, fmt: str) -> None:
    target = result.write(Path(out))
    if fmt != "text":
        _emit(result, fmt)
    else:
        click.echo(result.to_text())
        click.echo(f"wrote {target}")
    if open_:
        import webbrowser

        webbrowser.open(target.resolve().as_uri())


@plots.command("show")
@click.argument("targets", nargs=-1)
@_plot_options
def plots_show(targets: tuple[str, ...], out: str, open_: bool, fmt: str) -> None:
    """One chart per plot of TARGETS (stages or paths; default all) in the workspace."""
    from pivot.show import api

    _write_plots(api.plots(list(targets)), out, open_, fmt)


@plots.command("diff")
@click.argument("revs", nargs=-1)
@click.option("--targets", "-t", multiple=True, help="Only these stages or plot paths.")
@_plot_options
def plots_diff(revs: tuple[str, ...], targets: tuple[str, ...], out: str, open_: bool, fmt: str) -> None:
    """Each plot with one series per revision: none -> HEAD and workspace; one -> REV and workspace."""
    from pivot.show import api

    _write_plots(api.plots_diff(list(revs), targets=list(targets)), out, open_, fmt)


@click.command("diff")
@click.argument("a_rev", default="HEAD")
@click.argument("b_rev", required=False)
@_formats
def diff(a_rev: str, b_rev: str | None, fmt: str) -> None:
    """Outputs and tracked data added, deleted or modified from A_REV (HEAD) to B_REV (workspace)."""
    from pivot.show import api

    _emit(api.diff(a_rev, b_rev), fmt)


@click.command("get")
@click.argument("path")
@click.option("--rev", required=True, help="The git revision to take PATH from.")
@click.option("-o", "--out", default=None, type=click.Path(), help="Where to write (default: PATH's name here).")
@click.option("--force", is_flag=True, help="Replace an existing file or folder at the destination.")
def get(path: str, rev: str, out: str | None, force: bool) -> None:
    """Write PATH (project-relative) as it was at REV: from the cache or the remote, hash-verified."""
    import contextlib
    import sys

    from pivot.report.transfer_progress import rich_progress
    from pivot.show import api

    # A bar for downloads from the remote, on a terminal only: scripts get one clean line.
    shown = rich_progress(f"get {path}@{rev}") if sys.stderr.isatty() else contextlib.nullcontext()
    with shown as bar:
        written = api.get(path, rev=rev, out=out, force=force, progress=bar)
    click.echo(f"wrote {written}")


__all__ = ["diff", "get", "metrics", "params", "plots"]

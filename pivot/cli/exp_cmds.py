"""`pivot exp run/save/show/diff/apply/remove/push/pull`: options in, pivot.api.exp called, results out."""

from __future__ import annotations

import json
from typing import Any

import click


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group("exp")
def exp_group() -> None:
    """Experiments: param sweeps in isolated working copies, run as one batch."""


@exp_group.command("run")
@click.argument("targets", nargs=-1)
@click.option("-S", "--set-param", "set_params", multiple=True,
              help="[FOLDER:|FILE.yaml:]STAGE.KEY=V1[,V2...]; several -S make a grid (Cartesian product).")
@click.option("-n", "--name", default=None, help="Experiment name (a grid gets NAME-1, NAME-2, ...).")
@click.option("--queue", is_flag=True, help="Only record the experiments; run them with --run-all.")
@click.option("--run-all", is_flag=True, help="Run every queued experiment as one batch.")
@click.option("-j", "--jobs", type=int, default=None)
@click.option("--cluster", default=None, help="'local' or tcp://HOST:PORT of a Dask scheduler.")
@click.option("--workers", type=int, default=None, help="Workers for --cluster local.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def exp_run(targets: tuple[str, ...], set_params: tuple[str, ...], name: str | None, queue: bool, run_all: bool,
            jobs: int | None, cluster: str | None, workers: int | None, as_json: bool) -> None:
    """Run experiments: each -S override (or grid of them) in its own working copy, results kept."""
    from pivot.api.exp import exp_run as run

    outcomes = run(list(set_params), list(targets), name=name, queue=queue, run_all=run_all, cluster=cluster,
                   workers=workers, jobs=jobs)
    if queue:
        click.echo("queued; run them with `pivot exp run --run-all`")
        return
    rows = [{"name": o.record.name, "status": o.record.status, "params": o.record.params,
             "ran": o.record.ran, "restored": o.record.restored, "report": o.report.to_json()} for o in outcomes]
    if as_json:
        _emit({"experiments": rows})
    else:
        for o in outcomes:
            params = " ".join(f"{k}={v}" for k, v in o.record.params.items()) or "(no overrides)"
            click.echo(f"{o.record.name}: {o.record.status}  {params}  "
                       f"({len(o.record.ran)} ran, {len(o.record.restored)} restored)")
    if any(o.record.status != "success" for o in outcomes):
        raise SystemExit(1)


@exp_group.command("save")
@click.option("-n", "--name", default=None, help="Experiment name (default: from the base commit and params).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
def exp_save(name: str | None, as_json: bool) -> None:
    """Record the workspace's up-to-date results as an experiment (nothing runs)."""
    from pivot.api.exp import exp_save as save

    record = save(name)
    if as_json:
        _emit({"name": record.name, "params": record.params, "metrics": record.metrics})
    else:
        params = " ".join(f"{k}={v}" for k, v in record.params.items()) or "(params as committed)"
        click.echo(f"saved {record.name}: {params}")


@exp_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@click.option("--md", "as_md", is_flag=True, help="A Markdown table.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV: a header row, then one row per experiment.")
@click.option("--sort-by", default=None, help="A metric (path:key) or param column to sort by.")
@click.option("--only-changed", is_flag=True, help="Only columns whose value differs between rows.")
def exp_show(as_json: bool, as_md: bool, as_csv: bool, sort_by: str | None, only_changed: bool) -> None:
    """Every experiment and the workspace, with their params and metrics."""
    from pivot.api.exp import exp_show as show

    table = show(sort_by=sort_by, only_changed=only_changed)
    if as_json:
        _emit(table.to_json())
    elif as_csv:
        click.echo(table.csv(), nl=False)
    else:
        click.echo(table.markdown() if as_md else table.text())


@exp_group.command("diff")
@click.argument("a", default="HEAD")
@click.argument("b", required=False)
@click.option("--all", "all_", is_flag=True, help="Include unchanged values.")
@click.option("--precision", type=click.IntRange(1, 17), default=5, show_default=True,
              help="Significant digits of floating-point values.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@click.option("--md", "as_md", is_flag=True, help="Print Markdown tables.")
def exp_diff(a: str, b: str | None, all_: bool, precision: int, as_json: bool, as_md: bool) -> None:
    """Params and metrics changed from A (default HEAD) to B (default: the workspace); each an
    experiment's name or a git revision."""
    from pivot.show.api import exp_diff as diff

    result = diff(a, b, all=all_, precision=precision)
    click.echo(json.dumps(result.to_json(), indent=2, default=str) if as_json
               else result.to_markdown() if as_md else result.to_text())


@exp_group.command("apply")
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="Also replace outputs holding changes no cache has.")
def exp_apply(name: str, force: bool) -> None:
    """Write the experiment's params and place its outputs: `pivot repro` then runs nothing."""
    from pivot.api.exp import exp_apply as apply

    stages = apply(name, force=force)
    click.echo(f"applied {name}: params written, {len(stages)} stage(s) placed; `pivot repro` has nothing to run")


@exp_group.command("branch")
@click.argument("name")
@click.argument("branch")
def exp_branch(name: str, branch: str) -> None:
    """Make a git branch of an experiment: its params and lock files, committed on the commit it
    ran from (the workspace is not touched)."""
    from pivot.api.exp import exp_branch as make

    sha = make(name, branch)
    click.echo(f"branch {branch} ({sha[:10]}) holds experiment {name}: `git checkout {branch}` then "
               "`pivot checkout` places its outputs")


@exp_group.command("remove")
@click.argument("names", nargs=-1, required=True)
def exp_remove(names: tuple[str, ...]) -> None:
    """Forget experiments (their objects go at the next gc)."""
    from pivot.api.exp import exp_remove as remove

    for name in remove(list(names)):
        click.echo(f"removed {name}")


@exp_group.command("push")
@click.argument("names", nargs=-1)
@click.option("-r", "--remote", default=None)
def exp_push(names: tuple[str, ...], remote: str | None) -> None:
    """Upload experiments (default: all) and the objects they name to a remote."""
    from pivot.api.exp import exp_push as push

    for name, sent in push(list(names), remote=remote).items():
        click.echo(f"pushed {name} ({sent} object(s))")


@exp_group.command("pull")
@click.argument("names", nargs=-1)
@click.option("-r", "--remote", default=None)
def exp_pull(names: tuple[str, ...], remote: str | None) -> None:
    """Download experiments (default: all on the remote) and their objects, verified."""
    from pivot.api.exp import exp_pull as pull

    for name, got in pull(list(names), remote=remote).items():
        click.echo(f"pulled {name} ({got} object(s))")

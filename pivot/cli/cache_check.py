"""`pivot verify --cache`: wiring only (pivot.api.cache_check does the work)."""

from __future__ import annotations

import json
import sys

import click


def verify_cache_cmd(as_json: bool) -> None:
    from pivot.api.cache_check import verify_cache

    report = verify_cache()
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for bad in report.bad:
            click.echo(f"BAD {bad['path']}: object {bad['object']} ({bad['error']}); moved to {bad['moved_to']}")
        gone = f", {len(report.missing)} not in the local cache" if report.missing else ""
        verdict = "cache verified" if report.passed else f"{len(report.bad)} corrupt object(s)"
        click.echo(f"{verdict}: {report.checked} object(s) checked{gone}")
    if not report.passed:
        sys.exit(1)

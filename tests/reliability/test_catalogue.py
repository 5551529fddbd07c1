"""Issue 11's catalogue: every malformed input and fault gives the right exit code,
one line naming the problem, no traceback, nothing written outside the project,
nothing lost, and a project the next command (after the user's repair) completes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.reliability.cases import CASES, ENV_CASES
from tests.reliability.conftest import FakeServer
from tests.reliability.harness import Case, run_case


@pytest.mark.parametrize("case", CASES + ENV_CASES, ids=lambda c: c.id)
def test_case(case: Case, template: Path, tmp_path: Path, garbage_server: FakeServer, silent_server: FakeServer,
              refused_port: int) -> None:
    where = {"garbage": garbage_server.address, "silent": silent_server.address, "refused": str(refused_port)}
    case = dataclasses.replace(case, args=tuple(a.format(**where) for a in case.args))
    run_case(case, template, tmp_path)


def test_catalogue_is_large_enough() -> None:
    assert len(CASES + ENV_CASES) >= 30
    assert len({c.id for c in CASES + ENV_CASES}) == len(CASES + ENV_CASES)

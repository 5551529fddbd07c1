"""Shared fixtures live in tests/fixtures/ and are loaded as plugins."""

from __future__ import annotations

import pytest

from tests.scheduling import file_weight

pytest_plugins = ["tests.fixtures.project", "tests.fixtures.s3", "tests.fixtures.dask", "tests.fixtures.dvc"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first (tests/scheduling.py); a stable sort keeps each file's tests
    together and in their order, so module fixtures are still built once."""
    items.sort(key=lambda item: -file_weight(item.nodeid))

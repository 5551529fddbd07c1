"""Shared fixtures live in tests/fixtures/ and are loaded as plugins."""

pytest_plugins = ["tests.fixtures.project", "tests.fixtures.s3", "tests.fixtures.dask", "tests.fixtures.dvc"]

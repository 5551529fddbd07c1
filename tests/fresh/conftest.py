"""The small git project of tests/fresh/project.py, built once per session."""

from tests.fresh.project import built, origin  # noqa: F401

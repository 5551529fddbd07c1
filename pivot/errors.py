"""One root error class for everything Pivot raises on purpose.

User errors (bad input, bad config, bad project layout) exit with code 2 and a
one-line message; they carry the offending path or stage so callers can act on
them, and they survive pickling because they cross process boundaries.
"""

from __future__ import annotations


class PivotError(Exception):
    """Root of every error Pivot raises deliberately."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | None = None, stage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.stage = stage

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only attributes would be lost by the default Exception pickling.
        return (_rebuild, (type(self), self.message, self.path, self.stage))

    def __str__(self) -> str:
        return self.message


def _rebuild(
    cls: type[PivotError], message: str, path: str | None, stage: str | None
) -> PivotError:
    return cls(message, path=path, stage=stage)


class UserError(PivotError):
    """The user's input is wrong: exit code 2, one line, no traceback."""

    exit_code = 2


class RegistrationError(UserError):
    """A stage cannot be registered as written."""


class GraphError(UserError):
    """The stages do not form a valid graph (cycle, clash, overlap)."""


class ConfigError(UserError):
    """Configuration or project layout is invalid."""


class UnsavedChangesError(UserError):
    """Checkout would overwrite workspace bytes that no cache holds (kept; --force discards them)."""


class ProjectLockedError(UserError):
    """Another Pivot process holds the project lock."""


class StageFailedError(PivotError):
    """A stage raised or its command exited non-zero."""


class CacheError(PivotError):
    """An object is missing from, or corrupt in, a cache."""


class CorruptObjectError(CacheError):
    """An object's bytes do not hash to its name."""


class CodeMismatchError(PivotError):
    """A worker's code fingerprint differs from the planner's (version skew)."""


class ClusterLostError(PivotError):
    """The Dask scheduler went away mid-run: exit code 3, distinct from a stage failure.

    Whatever finished before is committed; re-running continues from there.
    """

    exit_code = 3

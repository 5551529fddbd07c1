"""Python and notebook entry points; the CLI calls only these.

One module per concern: ``session`` (targets, root, an open session),
``pipeline`` (status, repro, verify), ``data`` (track, checkout, restore,
commit, load), ``project`` (``pivot.Project``). The names below are the
public API and stay importable from ``pivot.api``.
"""

from pivot.api.data import checkout, commit, load, restore, track, untrack
from pivot.api.pipeline import make_executor, repro, status, tracked_status, verify
from pivot.api.project import Project
from pivot.api.session import Targets, find_root, init, list_stages, session, target_list

__all__ = ["Project", "Targets", "checkout", "commit", "find_root", "init", "list_stages", "load",
           "make_executor", "repro", "restore", "session", "status", "target_list", "track",
           "tracked_status", "untrack", "verify"]

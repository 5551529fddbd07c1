"""What the user can do about a missing input: a blocked stage never goes unexplained."""

from __future__ import annotations

from pivot import paths
from pivot.errors import UserError
from pivot.planner.decision import Decision, ReasonKind
from pivot.project import tracked
from pivot.workspace import Workspace


def blocked_reason(ws: Workspace, decision: Decision) -> str:
    """The decision's reasons, each missing dependency followed by its likely fix."""
    fixes = [missing_fix(ws, change.key) for reason in decision.reasons if reason.kind == ReasonKind.DEP_MISSING
             for change in reason.changes]
    return "; ".join([decision.reason_text(), *fixes])


def missing_fix(ws: Workspace, rel: str) -> str:
    pvt = tracked.pvt_file(ws.root, rel)
    shown = paths.relative_to_root(ws.root, pvt)
    if not pvt.is_file():
        return (f"{rel} does not exist and no stage produces it: create it and `pivot track {rel}`, "
                "or register a stage that writes it")
    try:
        item = tracked.read(ws.root, pvt)
    except UserError as exc:
        return str(exc)
    if ws.object_available(item.digest, item.is_dir):
        return f"{rel} is tracked by {shown} but missing from the workspace: `pivot checkout`"
    return f"{rel} is tracked by {shown} but is neither here nor in the local cache: `pivot pull`"

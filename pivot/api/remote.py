"""push, fetch and pull for Python and notebooks: the remote verbs with a progress display.

The remote package takes any Progress; here a notebook kernel gets one updating
display, and a plain script gets none.
"""

from __future__ import annotations

from typing import Any

from pivot.remote import transfer
from pivot.remote.progress import Progress
from pivot.remote.transfer import TransferReport


def _progress(label: str, given: Progress | None) -> Progress | None:
    if given is not None:
        return given
    from pivot.notebook import NotebookTransferProgress, in_notebook

    return NotebookTransferProgress(label) if in_notebook() else None


def push(targets: Any = None, *, progress: Progress | None = None, **options: Any) -> TransferReport:
    """Upload what the remote lacks (see ``pivot push``)."""
    return transfer.push(targets, progress=_progress("push", progress), **options)


def fetch(targets: Any = None, *, progress: Progress | None = None, **options: Any) -> TransferReport:
    """Download into the local cache (see ``pivot fetch``)."""
    return transfer.fetch(targets, progress=_progress("fetch", progress), **options)


def pull(targets: Any = None, *, progress: Progress | None = None, **options: Any) -> TransferReport:
    """fetch, then place the objects in the workspace (see ``pivot pull``)."""
    return transfer.pull(targets, progress=_progress("pull", progress), **options)

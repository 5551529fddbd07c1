"""A real python3 Jupyter kernel driven cell by cell, as a notebook user would."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import start_new_kernel

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Cell:
    """What one execution sent back: every iopub message of interest, in order."""

    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def stdout(self) -> str:
        return "".join(c["text"] for t, c in self.messages if t == "stream" and c["name"] == "stdout")

    def data(self, mime: str, kinds: tuple[str, ...] = ("execute_result",)) -> list[str]:
        return [c["data"][mime] for t, c in self.messages if t in kinds and mime in c.get("data", {})]

    def last_json(self) -> Any:
        return json.loads(self.stdout.strip().splitlines()[-1])


class Kernel:
    def __init__(self, cwd: Path) -> None:
        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(cwd))

    def run(self, code: str, timeout: float = 120) -> Cell:
        cell = Cell()

        def keep(msg: dict[str, Any]) -> None:
            kind = msg["header"]["msg_type"]
            if kind in ("stream", "display_data", "update_display_data", "execute_result", "error"):
                cell.messages.append((kind, msg["content"]))

        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=keep)
        if reply["content"]["status"] != "ok":
            trace = ANSI.sub("", "\n".join(reply["content"].get("traceback", [])))
            raise AssertionError(f"cell failed:\n{code}\n{trace}")
        return cell

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

"""The terminal progress display: colour never splits a stage name (issue 13)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from pivot.report.console import finish_text, progress_console
from pivot.results import Event, Outcome, StageOutcome

NAMES = ["models:train@v2", "prep:fit[small]", "a:stage_2024-01-02", "x:y@1.5e3", "p:[red]s[/red]"]


@pytest.mark.parametrize("name", NAMES)
def test_stage_name_is_one_uncoloured_piece(name: str) -> None:
    console = progress_console(Console, file=io.StringIO(), force_terminal=True, color_system="truecolor", width=200)
    event = Event("finish", name, StageOutcome(name, Outcome.RAN), 1, 2)
    segments = list(console.render(finish_text(event)))
    holding = [s for s in segments if name in s.text]
    assert len(holding) == 1, [s.text for s in segments]
    assert holding[0].style is None or not holding[0].style.color
    assert segments[0].style is not None and segments[0].style.color is not None  # the status word is coloured


@pytest.mark.parametrize("name", NAMES)
def test_plain_strings_are_not_highlighted(name: str) -> None:
    """rich's default highlighter colours digits and brackets inside a name: the display turns it off."""
    console = progress_console(Console, file=io.StringIO(), force_terminal=True, color_system="truecolor", width=200)
    text = console.render_str(f"  ran  {name}", markup=False)
    assert text.plain.endswith(name) and not text.spans

"""The board's looks as SVG snapshots (a scripted listing, a fixed clock, UTC)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_textual_snapshot import normalize_svg

from tests.board_states import BOARD_STATES, utc
from tests.panel_states import settle

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.mark.parametrize("name", sorted(BOARD_STATES))
def test_board_looks(name: str, snap_compare: Any) -> None:
    state = BOARD_STATES[name]
    with utc():
        assert snap_compare(
            state.build(), terminal_size=state.size, press=state.press, run_before=settle
        )


@pytest.mark.parametrize(
    "name", sorted(n for n, s in BOARD_STATES.items() if s.screenshot is not None)
)
def test_board_screenshot_shows_the_board_as_it_is(name: str) -> None:
    state = BOARD_STATES[name]
    saved = (SCREENSHOTS / f"{state.screenshot}.svg").read_text(encoding="utf-8")
    assert normalize_svg(saved) == normalize_svg(state.svg()), "run scripts/screenshots"

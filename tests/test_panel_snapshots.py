"""The panel's looks, state by state, as SVG snapshots (no server: events only).

After an intended change of looks: `pytest tests/test_panel_snapshots.py
--snapshot-update`, then `scripts/screenshots` (the screenshot test below fails
until screenshots/ shows the same).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_textual_snapshot import normalize_svg

from tests.panel_states import PANEL_STATES, settle

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.mark.parametrize("name", sorted(PANEL_STATES))
def test_panel_looks(name: str, snap_compare: Any) -> None:
    state = PANEL_STATES[name]
    app = state.build()
    assert snap_compare(app, terminal_size=state.size, press=state.press, run_before=settle)


@pytest.mark.parametrize(
    "name", sorted(n for n, s in PANEL_STATES.items() if s.screenshot is not None)
)
def test_screenshot_shows_the_panel_as_it_is(name: str) -> None:
    state = PANEL_STATES[name]
    saved = (SCREENSHOTS / f"{state.screenshot}.svg").read_text(encoding="utf-8")
    assert normalize_svg(saved) == normalize_svg(state.svg()), "run scripts/screenshots"

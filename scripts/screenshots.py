"""Regenerate screenshots/*.svg from the states the snapshot tests check.

Each screenshot is one of `tests.panel_states.PANEL_STATES` or
`tests.board_states.BOARD_STATES`, built from events and scripted listings and
rendered by the real app exactly as `tests/test_panel_snapshots.py` renders it, so
a screenshot cannot drift from what is tested (a test compares them).
Run: `scripts/screenshots`.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.board_states import BOARD_STATES  # noqa: E402
from tests.panel_states import PANEL_STATES  # noqa: E402

OUT = ROOT / "screenshots"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for state in (*PANEL_STATES.values(), *BOARD_STATES.values()):
        if state.screenshot is not None:
            (OUT / f"{state.screenshot}.svg").write_text(state.svg(), encoding="utf-8")
            print(f"wrote screenshots/{state.screenshot}.svg")


if __name__ == "__main__":
    main()

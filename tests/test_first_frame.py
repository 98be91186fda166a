"""The panel's first frame: drawn before Textual has loaded, where the panel draws it.

A supervisor sees the Connecting… badge, the promise and the conversation within a
few tens of milliseconds of pressing Enter, instead of a blank terminal while Textual
and the app import; Textual then paints over the same alternate screen.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from snoop_tui.first_frame import NOTICE, first_frame
from snoop_tui.terminal_caps import ASCII, UNICODE
from tests.terminal import env as terminal_env
from tests.terminal import run_in_terminal

TEXTUAL_TAKES_OVER = "\x1b[?1004h"  # Textual's driver turns focus reports on as it starts
CURSOR_AT = re.compile(r"\x1b\[(\d+);(\d+)H")


def visible(frame: str) -> dict[int, str]:
    """What each row of the frame shows, its escape sequences left out."""
    rows: dict[int, str] = {}
    parts = CURSOR_AT.split(frame)
    for row, _col, text in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        rows[int(row)] = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    return rows


def test_the_first_frame_shows_the_badge_the_promise_and_the_conversation() -> None:
    frame = first_frame("conv_7f3a9c21", (100, 30), UNICODE)
    assert frame.startswith("\x1b[?1049h")  # the alternate screen: the shell's is untouched
    assert visible(frame) == {
        2: f" ◌ Connecting…  {NOTICE}",
        3: "Conversation conv_7f3a9c21",
    }
    assert "\x1b[2;2H" in frame and "\x1b[3;2H" in frame  # inside the panel's margin


def test_a_short_terminal_moves_it_up_and_a_narrow_one_cuts_it_to_fit() -> None:
    frame = first_frame("conv_7f3a9c21_with_a_long_name", (40, 20), ASCII)
    rows = visible(frame)
    assert set(rows) == {1, 2}  # below 30 rows the panel drops its top margin
    assert rows[1].startswith(" o Connecting... ")
    assert all(len(text) <= 38 for text in rows.values())
    assert rows[2] == "Conversation conv_7f3a9c21_with_a_long_name"[:38]


def test_watch_shows_the_first_frame_before_textual_starts(platform_api: Any) -> None:
    run = run_in_terminal(["watch", "conv_does_not_exist"], terminal_env(platform_api.base_url))
    assert "was not found" in run.output  # the call could not be opened: the app says so
    first = run.output.index("Conversation")
    assert first < run.output.index(TEXTUAL_TAKES_OVER)
    assert run.output.index("\x1b[?1049h") < first  # drawn on the alternate screen


def test_a_panel_that_cannot_start_leaves_the_first_frame_and_says_why(
    platform_api: Any, tmp_path: Path
) -> None:
    """If the app cannot be built after the first frame was drawn, the alternate screen
    is left again, so the one-line reason shows on the supervisor's own screen."""
    (tmp_path / "sitecustomize.py").write_text(
        "import snoop_tui.launch\n"
        "from snoop_tui.errors import ConfigError\n"
        "def cannot_start(*args, **kwargs):\n"
        "    raise ConfigError('The panel could not start.')\n"
        "snoop_tui.launch.make_app = cannot_start\n"
    )
    env = terminal_env(platform_api.base_url, PYTHONPATH=str(tmp_path))
    run = run_in_terminal(["watch", "conv_1"], env)
    assert run.code == 2, run.output
    drawn = run.output.index("conv_1", run.output.index("Conversation"))
    left = run.output.index("\x1b[?1049l", drawn)
    assert run.output.index("The panel could not start.") > left
    assert TEXTUAL_TAKES_OVER not in run.output
    assert "Traceback" not in run.output

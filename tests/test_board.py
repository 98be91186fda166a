"""The live call board on a scripted listing (no server): rows, keys, refreshes, faults.

The real app in board mode; `tests/test_board_stack.py` proves the same board on the
real local platform API and real calls.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
from textual._styles_cache import StylesCache
from textual.pilot import Pilot

from snoop_tui.app import SnoopApp
from snoop_tui.errors import ConversationNotActive, PlatformUnavailable
from snoop_tui.events import CallState
from snoop_tui.screens.board import BoardScreen, BoardStatus
from snoop_tui.screens.panel import PanelScreen
from snoop_tui.widgets.call_list import CallList, row_text
from snoop_tui.widgets.transcript_pane import TranscriptOptions
from tests.board_states import (
    CALLS,
    NOW,
    BoardSetup,
    ScriptedListing,
    board_app,
    call,
)
from tests.panel_states import ScriptedCall, settle

SIZE = (110, 30)


def rows(app: SnoopApp[ScriptedCall]) -> list[str]:
    listed = app.screen.query_one(CallList)
    return [row_text(row, NOW, alert=listed.alerts.get(row.id)) for row in listed.rows]


def highlighted(app: SnoopApp[ScriptedCall]) -> str | None:
    row = app.screen.query_one(CallList).highlighted
    return row.id if row is not None else None


def status(app: SnoopApp[ScriptedCall]) -> str:
    return str(app.screen.query_one(BoardStatus).render())


async def refresh(pilot: Pilot[None]) -> None:
    await pilot.press("r")
    await settle(pilot)


async def test_the_board_lists_the_live_calls_newest_first_with_their_details() -> None:
    app = board_app(BoardSetup(ScriptedListing([CALLS])))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = rows(app)
        assert [r.split()[2] for r in shown[:1]] == ["Retention"]
        assert shown[0].startswith("◌ ringing") and "00:12" in shown[0]
        assert "● in progress" in shown[1] and "Billing Assistant" in shown[1]
        assert "03:12" in shown[1] and "+1 212 555 0107" in shown[1]
        assert "outbound" in shown[2] and "12:30" in shown[2]
        assert "no audio (email)" in shown[3]
        assert "1:15:00" in shown[4]
        assert "Live calls 5" in status(app) and "updated 14:05:00" in status(app)


async def test_enter_opens_the_panel_and_stop_comes_back_to_the_same_row() -> None:
    setup = BoardSetup(ScriptedListing([CALLS]))
    app = board_app(setup)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")
        assert highlighted(app) == "conv_support"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PanelScreen)
        assert app.panel.call_state is CallState.LIVE
        assert app.panel.conversation_id == "conv_support"
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, BoardScreen)
        assert highlighted(app) == "conv_support"
        assert setup.opened["conv_support"].commands[-1] == "stop"
        assert app.is_running and app.return_code is None


def render_caches_alive() -> int:
    gc.collect()
    return sum(isinstance(thing, StylesCache) for thing in gc.get_objects())


async def test_a_shift_of_calls_opened_and_left_holds_no_closed_panel_in_memory() -> None:
    """Each panel left goes: its widgets and their rendered lines too (Textual's own
    cache of them is let go whenever the board comes back)."""
    setup = BoardSetup(ScriptedListing([CALLS]))
    app = board_app(setup)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alive: list[int] = []
        for _ in range(12):
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, PanelScreen)
            await pilot.press("x")
            await settle(pilot)
            assert isinstance(app.screen, BoardScreen)
            alive.append(render_caches_alive())
        assert max(alive[2:]) <= alive[1]  # flat from the second call on, not growing


async def test_a_call_that_ended_a_second_ago_says_why_on_the_board() -> None:
    setup = BoardSetup(ScriptedListing([CALLS]))
    setup.failures["conv_billing"] = ConversationNotActive("The call is over.")
    app = board_app(setup)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, BoardScreen)
        message = str(app.screen.query_one("#board-message").render())
        assert "Call not active" in message and "The call is over." in message
        assert app.is_running


async def test_a_call_without_audio_is_not_opened() -> None:
    setup = BoardSetup(ScriptedListing([CALLS]))
    app = board_app(setup)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, BoardScreen) and not setup.opened
        assert "email conversations have no audio" in str(
            app.screen.query_one("#board-message").render()
        )


async def test_the_cursor_stays_on_its_call_when_new_calls_arrive_and_old_ones_end() -> None:
    arriving = call("conv_new", "Tech Support", "+1 303 555 0111", 0.05)
    setup = BoardSetup(ScriptedListing([CALLS, (arriving, *CALLS[1:])]))
    app = board_app(setup)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")
        assert highlighted(app) == "conv_support"
        await refresh(pilot)
        assert highlighted(app) == "conv_support"
        shown = rows(app)
        assert shown[0].endswith("new") and "Tech Support" in shown[0]
        ended = next(r for r in shown if "Retention Desk" in r)
        assert ended.startswith("✕ ended") and ended.endswith("ended")  # fades, still there
        setup.clock.now += 6  # the fade is over, and the new mark too
        await pilot.pause(1.2)  # the board's once-a-second tick
        shown = rows(app)
        assert not any("Retention Desk" in r for r in shown)
        assert not shown[0].endswith("new")
        assert highlighted(app) == "conv_support"


async def test_the_filter_narrows_as_you_type_and_clears() -> None:
    app = board_app(BoardSetup(ScriptedListing([CALLS])))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"BILLING")
        await settle(pilot)
        assert len(rows(app)) == 2 and all("Billing Assistant" in r for r in rows(app))
        await pilot.press("backspace", *"", "escape")
        await settle(pilot)
        assert len(rows(app)) == 5
        await pilot.press("slash", *"0958")
        await settle(pilot)
        assert [highlighted(app)] == ["conv_support"]
        await pilot.press("escape", "slash", *"nobody")
        await settle(pilot)
        assert rows(app) == []
        assert 'No live call matches "nobody".' in str(
            app.screen.query_one("#board-empty").render()
        )


async def test_a_failing_refresh_keeps_the_list_and_marks_it_stale() -> None:
    trouble = PlatformUnavailable("The platform failed (503). Try again in a minute.")
    listing = ScriptedListing([CALLS, trouble, trouble, trouble, CALLS])
    app = board_app(BoardSetup(listing), refresh_seconds=10)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await refresh(pilot)
        assert len(rows(app)) == 5
        line = status(app)
        assert "stale: last updated 14:05:00" in line and "The platform failed (503)" in line
        assert "Retrying in 20 s" in line
        await refresh(pilot)
        assert "Retrying in 40 s" in status(app)  # backing off
        await refresh(pilot)
        assert "Retrying in 60 s" in status(app)  # ... up to a minute
        await refresh(pilot)
        assert "stale" not in status(app) and len(rows(app)) == 5


async def test_a_board_that_cannot_load_ends_like_watch() -> None:
    trouble = PlatformUnavailable("The platform failed (503).")
    app = board_app(BoardSetup(ScriptedListing([trouble])))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
    assert app.return_code == 15 and app.failure is trouble


async def test_an_empty_board_says_so_with_the_time() -> None:
    app = board_app(BoardSetup(ScriptedListing([()])))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert rows(app) == []
        empty = str(app.screen.query_one("#board-empty").render())
        assert empty.startswith("No live calls right now (checked at ")


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
async def test_q_and_ctrl_c_quit_the_board(key: str) -> None:
    app = board_app(BoardSetup(ScriptedListing([CALLS])))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
    assert app.return_code == 0


def test_snapshot_harness_uses_a_fixed_clock() -> None:
    assert NOW.tzinfo is not None and CALLS[0].created_at is not None


async def test_keys_move_through_500_calls() -> None:
    many = [call(f"conv_{n:03d}", f"Agent {n}", f"+1 555 {n:04d}", n) for n in range(500)]
    app = board_app(BoardSetup(ScriptedListing([many])))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("end")
        assert highlighted(app) == "conv_499"
        await pilot.press("pageup", "k", "home", "j")
        assert highlighted(app) == "conv_001"
        listed: Any = app.screen.query_one(CallList)
        assert listed.virtual_size.height == 500


async def test_a_call_with_an_alert_is_marked_on_the_board() -> None:
    setup = BoardSetup(ScriptedListing([CALLS]))
    app = board_app(setup)
    app.options = TranscriptOptions(alerts=("estimated",), bell=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert len(app.panel.pane.alerts_seen) == 1  # "...was estimated, not read."
        await pilot.press("x")
        await settle(pilot)
        billing = next(r for r in rows(app) if "+1 212 555 0107" in r)
        assert billing.endswith("! estimated")
        others = [r for r in rows(app) if "+1 212 555 0107" not in r]
        assert not any("!" in r for r in others)

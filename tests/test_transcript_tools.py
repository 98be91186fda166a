"""The transcript's tools on a scripted call (no server): times, history, following,
search, alerts, copy and save.

The same panel runs on the real stack in the end-to-end tests; `tests/test_tail.py`,
`tests/test_history.py` and the export tests cover the parts under it.
"""

from __future__ import annotations

import base64
import stat
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from snoop_tui.app import SnoopApp
from snoop_tui.events import (
    CallContext,
    CallEvent,
    CallState,
    HistoryLine,
    StateChanged,
    TranscriptUpdated,
)
from snoop_tui.transcript import Role, Transcript
from snoop_tui.widgets.transcript_pane import TranscriptOptions
from tests.panel_states import ScriptedCall, settle

SIZE = (100, 30)
START = datetime(2026, 11, 26, 14, 0, 0, tzinfo=UTC)


def app_on(*events: CallEvent, **options: Any) -> SnoopApp[ScriptedCall]:
    return SnoopApp("conv_tools", ScriptedCall(events), options=TranscriptOptions(**options))


def lines_on_screen(app: SnoopApp[ScriptedCall]) -> list[str]:
    view = app.panel.transcript
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]


def said(text: str, *, role: Role = Role.CALLER, seconds: float = 0, n: int = 0) -> CallEvent:
    segment = Transcript().update(
        f"live-{n}",
        role=role,
        speaker=role.label,
        text=text,
        final=True,
        spoken_at=START.timestamp() * 1000 + seconds * 1000,
    )
    assert segment is not None
    return TranscriptUpdated(segment)


async def test_each_line_shows_its_time_into_the_call_and_t_shows_the_clock() -> None:
    app = app_on(
        StateChanged(CallState.LIVE),
        CallContext(START, (), True),
        said("Hello?", seconds=192, n=1),
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = [line for line in lines_on_screen(app) if "Hello?" in line]
        assert shown and shown[0].lstrip().startswith("03:12 Caller")
        await pilot.press("t")
        await settle(pilot)
        local = datetime.fromtimestamp(START.timestamp() + 192).strftime("%H:%M:%S")
        shown = [line for line in lines_on_screen(app) if "Hello?" in line]
        assert shown[0].lstrip().startswith(f"{local} Caller")


async def test_history_is_shown_dimmed_above_a_divider_once() -> None:
    history = (
        HistoryLine(Role.AGENT, "Thanks for calling, this is Ava.", START),
        HistoryLine(Role.CALLER, "My bill doubled.", START.replace(second=5)),
    )
    app = app_on(
        StateChanged(CallState.LIVE),
        said("My bill doubled.", seconds=5, n=1),  # said as we joined: also in the history
        CallContext(START, history, True),
        said("Can you check it?", seconds=20, n=2),
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        texts = [s.text for s in app.panel.transcript.all_segments()]
        assert texts.count("My bill doubled.") == 1
        assert texts.index("Thanks for calling, this is Ava.") < texts.index("Can you check it?")
        screen = "\n".join(lines_on_screen(app))
        assert "before you joined" in screen
        divider = next(i for i, t in enumerate(texts) if "before you joined" in t)
        assert texts.index("Can you check it?") > divider


async def test_without_history_one_line_says_so() -> None:
    app = app_on(StateChanged(CallState.LIVE), CallContext(START, (), False), said("Hi", n=1))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "no transcript from before you joined" in "\n".join(lines_on_screen(app))


async def test_scrolling_up_stops_following_and_end_goes_back_to_live() -> None:
    events = [said(f"Line number {n}", seconds=n, n=n) for n in range(60)]
    app = app_on(StateChanged(CallState.LIVE), *events)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = app.panel.transcript
        assert view.following
        await pilot.press("pageup", "pageup")
        assert not view.following
        for n in range(60, 63):
            app.call.emit(said(f"Line number {n}", seconds=n, n=n))
        await settle(pilot)
        marker = app.panel.pane.new_lines
        assert marker.display and "3 new lines" in str(marker.render())
        assert not view.following  # it did not jump under the supervisor
        await pilot.press("end")
        await settle(pilot)
        assert view.following and not marker.display


async def test_a_transcript_growing_past_the_view_gets_its_scrollbar_and_stays_at_the_end() -> None:
    app = app_on(StateChanged(CallState.LIVE))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = app.panel.transcript
        assert not view.show_vertical_scrollbar
        for n in range(40):  # one line at a time, as a call says them
            app.call.emit(said(f"Line number {n}", seconds=n, n=n))
            await settle(pilot)
            shown = lines_on_screen(app)
            assert any(line.endswith(f"Line number {n}") for line in shown), n
        assert view.show_vertical_scrollbar
        assert view.vertical_scrollbar.window_virtual_size == 40  # its thumb is for 40 lines
        assert view.is_vertical_scroll_end
        await pilot.press("home")
        await settle(pilot)
        assert lines_on_screen(app)[0].endswith("Line number 0")


async def test_search_counts_highlights_and_steps_through_the_whole_call() -> None:
    events = [said(f"Line number {n}", seconds=n, n=n) for n in range(80)]
    events[3] = said("my account number is 1234", seconds=3, n=3)
    events[70] = said("which account is it?", seconds=70, n=70)
    app = app_on(StateChanged(CallState.LIVE), *events)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"ACCOUNT")
        await settle(pilot)
        count = app.panel.pane.query_one("#search-count")
        assert "2 matches" in str(count.render())
        await pilot.press("enter")
        await settle(pilot)
        assert "1 of 2" in str(count.render())
        assert any("my account number" in line for line in lines_on_screen(app))  # scrolled back
        await pilot.press("n")
        await settle(pilot)
        assert "2 of 2" in str(count.render())
        await pilot.press("N")
        await settle(pilot)
        assert "1 of 2" in str(count.render())
        await pilot.press("escape")
        await settle(pilot)
        assert not app.panel.pane.searching and app.panel.transcript.search_text == ""
        assert app.is_running and app.panel.call_state is CallState.LIVE


async def test_an_alert_phrase_is_marked_counted_and_rung_once() -> None:
    rings: list[int] = []
    app = app_on(
        StateChanged(CallState.LIVE),
        CallContext(START, (), True),
        said("I want my lawyers", seconds=10, n=1),  # not a whole word: no alert
        said("I will call my Lawyer, today.", seconds=192, n=2),
        alerts=("lawyer", "cancel my account"),
    )
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.panel.pane
        assert [a.phrase for a in pane.alerts_seen] == ["lawyer"]
        line = str(pane.query_one("#alert-line").render())
        assert "Alerts 1" in line and "lawyer · caller · 03:12" in line
        assert rings == [1]
        app.call.emit(said("Please  CANCEL my\taccount", seconds=200, n=3))
        await settle(pilot)
        assert [a.phrase for a in pane.alerts_seen] == ["lawyer", "cancel my account"]
        await pilot.press("a")
        assert pane.next_alert() is not None


async def test_no_bell_when_the_bell_is_off() -> None:
    rings: list[int] = []
    app = app_on(
        StateChanged(CallState.LIVE), said("my lawyer", n=1), alerts=("lawyer",), bell=False
    )
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(app.panel.pane.alerts_seen) == 1 and rings == []


async def test_c_copies_the_last_line_to_the_clipboard_by_osc_52() -> None:
    app = app_on(StateChanged(CallState.LIVE), said("first", n=1), said("last one", seconds=2, n=2))
    written: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app._driver is not None
        app._driver.write = written.append  # type: ignore[method-assign,assignment]
        await pilot.press("c")
        await settle(pilot)
    encoded = base64.b64encode(b"Caller: last one").decode()
    assert f"\x1b]52;c;{encoded}\a" in written


async def test_s_saves_the_transcript_privately_and_never_overwrites(tmp_path: Path) -> None:
    app = app_on(
        StateChanged(CallState.LIVE),
        CallContext(START, (), True),
        said("copy \x1b]52;c;ZXZpbA==\x07 this", seconds=65, n=1),
        save_dir=str(tmp_path),
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
    saved = sorted(tmp_path.iterdir())
    assert len([p for p in saved if p.suffix == ".md"]) == 2  # the second did not overwrite
    for path in saved:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        content = path.read_text(encoding="utf-8")
        assert "\x1b" not in content and "\x07" not in content
        assert "ak_" not in content
    markdown = next(p for p in saved if p.suffix == ".md").read_text(encoding="utf-8")
    assert "01:05" in markdown and "Caller" in markdown


async def test_save_on_close_keeps_the_transcript_whatever_ends_the_panel(tmp_path: Path) -> None:
    app = app_on(
        StateChanged(CallState.LIVE),
        said("goodbye", n=1),
        save_dir=str(tmp_path),
        save_on_close=True,
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
    assert app.saved and all(path.exists() for path in app.saved)
    assert {path.suffix for path in app.saved} == {".md", ".jsonl"}


async def test_an_update_to_a_line_on_screen_repaints_that_line_when_scrolled() -> None:
    events = [said(f"Line number {n}", seconds=n, n=n) for n in range(60)]
    app = app_on(StateChanged(CallState.LIVE), *events)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = app.panel.transcript
        await pilot.press("pageup")
        await settle(pilot)
        top = view.scroll_offset.y
        assert top > 0
        target = next(s for s in view.segments() if view.first_line_of(s.id) == top + 2)
        painted: list[Any] = []
        original = view.refresh

        def spy(*regions: Any, **options: Any) -> Any:
            painted.extend(regions)
            return original(*regions, **options)

        view.refresh = spy  # type: ignore[method-assign]
        model = Transcript()
        update = model.update(
            target.id,
            role=target.role,
            speaker=target.speaker,
            text="Line changed",
            final=True,
            spoken_at=target.spoken_at,
        )
        assert update is not None
        app.panel.pane.show_segment(replace(update, order=target.order, owner=target.owner))
        assert [region.y for region in painted] == [2]  # the screen row it is on

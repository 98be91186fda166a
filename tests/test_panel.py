"""The panel on scripted calls (no server): keys become commands, events become state.

Fast tests of the app's own behaviour; the end-to-end tests prove the same panel on
the real local stack.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

from snoop_tui.app import SnoopApp
from snoop_tui.errors import ConversationNotFound
from snoop_tui.events import (
    CallFailed,
    CallState,
    SpeakersChanged,
    StateChanged,
    TranscriptUpdated,
)
from snoop_tui.local_call import InProcessCall
from snoop_tui.platform import PlatformClient
from snoop_tui.screens.help import HelpScreen
from snoop_tui.screens.panel import NOTICE, PanelScreen
from snoop_tui.settings import Secret, Settings
from snoop_tui.transcript import Role, Transcript
from snoop_tui.widgets.badge import CallBadge
from snoop_tui.widgets.key_hints import KeyHints
from snoop_tui.widgets.transcript_view import TranscriptView
from tests.panel_states import PANEL_STATES, ROOM, PanelState, ScriptedCall, live, settle

SIZE = (100, 30)


def scripted(*events: object, audio_problem: str | None = None) -> SnoopApp[ScriptedCall]:
    return SnoopApp("conv_test", ScriptedCall(events, audio_problem=audio_problem))  # type: ignore[arg-type]


def shown(widget: Any) -> str:
    """What a widget puts on the screen, line by line."""
    lines = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return " ".join(" ".join(strip.text.split()) for strip in lines)


def button_disabled(app: SnoopApp[ScriptedCall], name: str) -> bool:
    return bool(app.screen.query_one(f"#{name}").disabled)


def text_of(app: SnoopApp[ScriptedCall], selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_events_that_arrive_before_the_panel_mounts_are_all_shown() -> None:
    app = PANEL_STATES["listening-agent-focus"].build()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen.query_one(CallBadge).label == "● LIVE"
        assert ROOM in text_of(app, "#details")
        assert "listening" in text_of(app, "#activity") and "hearing the agent only" in text_of(
            app, "#activity"
        )
        assert len(app.screen.query_one(TranscriptView).lines()) == 6
        assert button_disabled(app, "listen") and not button_disabled(app, "mute")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(404, json={"detail": "not found"}),
        httpx.Response(
            200,
            json={
                "url": "ws://127.0.0.1:9",
                "token": "not-a-jwt",
                "room_name": "r",
                "expires_at": "2099-01-01T00:00:00Z",
            },
        ),
    ],
    ids=["not-found", "bad-token"],
)
async def test_a_platform_that_answers_at_once_ends_the_panel_cleanly(
    answer: httpx.Response,
) -> None:
    """The platform can answer before the panel has mounted: that used to crash it."""
    transport = httpx.MockTransport(lambda request: answer)
    settings = Settings(api_url="http://127.0.0.1:9", credential=Secret("ak_test"))
    call = InProcessCall(
        settings, "conv_fast", platform_factory=lambda s: PlatformClient(s, transport=transport)
    )
    app = SnoopApp("conv_fast", call)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.failure is not None
    assert app.return_code == app.failure.exit_code
    assert app.return_code in (13, 20)


async def test_keys_send_the_call_commands() -> None:
    app = scripted(*live())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("l", "f", "plus", "minus", "minus", "m")
        await pilot.pause()
        assert app.call.commands == [
            "listen",
            "focus",
            "volume +1",
            "volume -1",
            "volume -1",
            "mute",
        ]
        assert "muted" in text_of(app, "#activity") and "90%" in text_of(app, "#activity")
        assert "hearing the agent only" in text_of(app, "#activity")
        await pilot.press("x")
        await pilot.pause()
    assert app.call.commands[-1] == "stop"
    assert app.return_code == 0


async def test_the_key_hints_show_what_each_key_does_and_a_click_presses_it() -> None:
    app = scripted(*live())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        hints = app.screen.query_one(KeyHints)
        line = hints.render().plain
        for hint in (" l Listen ", " m Mute ", " x Stop ", " + Vol+ ", " ? Help "):
            assert hint in line
        assert line.rstrip().endswith("^p palette")  # the command palette's key, on the right
        assert len(line) == SIZE[0]
        await pilot.click(KeyHints, offset=(line.index("Vol+"), 0))
        await pilot.click(KeyHints, offset=(line.index("Listen"), 0))
        await pilot.pause()
        assert app.call.commands == ["volume +1", "listen"]
        await pilot.hover(KeyHints, offset=(line.index("Vol+"), 0))
        assert hints.tooltip  # what the key does, in a word or two


async def test_listen_works_while_reconnecting() -> None:
    app = scripted(*live(StateChanged(CallState.RECONNECTING)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen.query_one(CallBadge).label == "↻ Reconnecting…"
        assert not button_disabled(app, "listen")
        await pilot.click("#listen")
        await pilot.pause()
        assert app.call.commands == ["listen"]
        assert "listening" in text_of(app, "#activity")
        assert button_disabled(app, "listen") and not button_disabled(app, "mute")


async def test_an_ended_call_says_why_and_offers_only_stop() -> None:
    app = scripted(*live(StateChanged(CallState.ENDED, "The agent left the call.")))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen.query_one(CallBadge).label == "■ Ended"
        assert "Call ended. The agent left the call. Press x to close." in text_of(app, "#message")
        assert button_disabled(app, "listen") and button_disabled(app, "mute")
        assert not button_disabled(app, "stop")
        assert "●" not in text_of(app, "#activity")  # nobody is speaking any more
        assert not app.screen.query_one("#notice").display


async def test_no_audio_output_is_explained_once_and_the_transcript_goes_on() -> None:
    app = scripted(*live(), audio_problem="This machine has no default audio output.")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("l")
        await pilot.pause()
        message = text_of(app, "#message")
        assert message.count("snoop-tui help audio") == 1
        assert message.startswith("This machine has no default audio output.")
        assert "muted" in text_of(app, "#activity")
        more = Transcript().update(
            "late",
            role=Role.CALLER,
            speaker="Caller",
            text="Hello?",
            final=True,
            spoken_at=1_800_000_000_000,
        )
        assert more is not None
        app.call.emit(TranscriptUpdated(more))
        await pilot.pause()
        assert app.screen.query_one(TranscriptView).lines()[-1] == "Caller: Hello?"


async def test_a_late_segment_is_shown_where_it_was_said() -> None:
    model = Transcript()
    first = model.update(
        "a", role=Role.AGENT, speaker="Agent", text="first", final=True, spoken_at=1000
    )
    third = model.update(
        "c", role=Role.AGENT, speaker="Agent", text="third", final=True, spoken_at=3000
    )
    second = model.update(
        "b", role=Role.CALLER, speaker="Caller", text="second", final=True, spoken_at=2000
    )
    assert first and second and third
    app = scripted(StateChanged(CallState.LIVE))
    async with app.run_test(size=SIZE) as pilot:
        for segment in (first, third, second):
            app.call.emit(TranscriptUpdated(segment))
            await pilot.pause()
        view = app.screen.query_one(TranscriptView)
        assert view.lines() == ["Agent: first", "Caller: second", "Agent: third"]
        on_screen = [view.render_line(y).text.split()[-2:] for y in range(3)]
        assert on_screen == [["Agent", "first"], ["Caller", "second"], ["Agent", "third"]]


async def test_a_failed_start_ends_with_its_exit_code() -> None:
    app = scripted(CallFailed(ConversationNotFound("No such conversation.")))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
    assert app.return_code == 13
    assert app.failure is not None and app.failure.message == "No such conversation."


async def test_escape_closes_the_palette_and_never_ends_the_call() -> None:
    app = scripted(*live())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "CommandPalette"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PanelScreen)
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert app.is_running and app.call.commands == []
        assert app.panel.call_state is CallState.LIVE


@pytest.mark.parametrize("colours", ["truecolor", "16", "no-color"])
@pytest.mark.parametrize("size", [(50, 16), (60, 20), (80, 24), (200, 50)])
async def test_the_notice_wraps_and_stop_stays_on_any_terminal(
    size: tuple[int, int], colours: str
) -> None:
    state = PanelState(
        live(),
        size=size,
        colours="16" if colours == "16" else "truecolor",
        no_color=colours == "no-color",
    )
    app = state.build()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        notice = app.screen.query_one("#notice")
        words = " ".join(
            "".join(strip.text for strip in [notice.render_line(y)]).strip()
            for y in range(notice.size.height)
        )
        assert " ".join(words.split()) == NOTICE
        stop = app.screen.query_one("#stop")
        assert stop.region.bottom <= size[1] and stop.region.height >= 1
        assert app.screen.region.contains_region(stop.region)
        transcript = app.screen.query_one(TranscriptView)
        assert transcript.size.height >= min(6, size[1] - 10)


@pytest.mark.parametrize("key", ["question_mark", "h", "f1"])
async def test_help_lists_the_keys_and_escape_closes_it(key: str) -> None:
    app = scripted(*live())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = shown(app.screen.query_one("#help-keys"))
        assert "Play the call's audio" in keys and "what you hear, not what you read" in keys
        notes = str(app.screen.query_one("#help-notes").render())
        assert "snoop-tui help audio" in notes and "ANYREACH_TOKEN" in notes
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PanelScreen) and app.is_running


async def test_the_palette_offers_the_call_s_commands() -> None:
    app = scripted(*live())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for wanted in ("Listen", "Mute", "Focus", "Volume up", "Volume down", "Stop", "Help"):
            assert wanted in titles, wanted
        await pilot.press("ctrl+p", *"listen", "enter")
        await pilot.pause()
        await pilot.pause()
        assert app.call.commands == ["listen"]


def turn_of(
    transcript: Transcript, turn: int, text: str, *, final: bool, after: float
) -> TranscriptUpdated:
    """Turn `turn` of a call that goes on after `after` (ms): agent and caller in turn,
    4 s apart, as `transcript` records it; the event that carries it."""
    role = Role.CALLER if turn % 2 else Role.AGENT
    segment = transcript.update(
        f"t{turn}", role=role, speaker=role.label, text=text, final=final,
        spoken_at=after + (turn + 1) * 4000,
    )  # fmt: skip
    assert segment is not None
    return TranscriptUpdated(segment)


Cell = tuple[str, Style | None]


def cells(strip: Strip) -> list[Cell]:
    return [(char, segment.style) for segment in strip for char in segment.text]


class PaintedScreen:
    """What a terminal shows: every update Textual sends the screen, applied to a grid
    of cells (character and style)."""

    def __init__(self, app: SnoopApp[ScriptedCall]) -> None:
        self.compositor = compositor = app.screen._compositor
        width, height = compositor.size
        self.rows: list[list[Cell]] = [[(" ", None)] * width for _ in range(height)]
        self.painted_rows: set[int] = set()
        """The rows any update has painted since this was last emptied."""
        self.painted_columns: set[int] = set()
        """The columns any partial update has painted since this was last emptied."""
        full, partial = compositor.render_full_update, compositor.render_partial_update

        def full_update(*args: Any, **kwargs: Any) -> Any:
            update = full(*args, **kwargs)
            self.painted_rows.update(range(height))
            for y, strips in enumerate(update.strips):
                self._paint(y, 0, width, [cell for strip in strips for cell in cells(strip)])
            return update

        def partial_update() -> Any:
            update = partial()
            if update is not None:
                for y, x1, x2 in update.spans:
                    self.painted_rows.add(y)
                    chops = zip(update.chop_ends[y], update.chops[y].items(), strict=True)
                    for end, (x, strip) in chops:
                        if strip is not None and x < x2 and end > x1:
                            self._paint(y, x, x2, cells(strip))
                            self.painted_columns.update(range(x, min(end, x2)))
            return update

        compositor.render_full_update = full_update  # type: ignore[method-assign]
        compositor.render_partial_update = partial_update  # type: ignore[method-assign]

    def _paint(self, y: int, x: int, stop: int, line: list[Cell]) -> None:
        for offset, cell in enumerate(line[: stop - x]):
            self.rows[y][x + offset] = cell

    def text(self) -> list[str]:
        return ["".join(char for char, _ in row) for row in self.rows]

    def truth(self) -> list[list[Cell]]:
        """The whole screen rendered afresh, as it should look."""
        return [cells(strip) for strip in self.compositor.render_strips()]


async def test_what_is_painted_a_word_at_a_time_is_the_whole_screen_as_it_should_be() -> None:
    app = scripted(*live())
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        painted = PaintedScreen(app)
        app.screen.refresh()  # one full frame to start the grid from
        await settle(pilot)
        words = "my bill doubled this month"
        last = app.panel.transcript.segments()[-1].spoken_at
        for turn in range(16):  # more than fit: the transcript scrolls as it goes
            for count in range(1, len(words.split()) + 1):
                text, final = " ".join(words.split()[:count]), count == len(words.split())
                app.call.emit(turn_of(Transcript(), turn, text, final=final, after=last))
                await settle(pilot)
            app.call.emit(SpeakersChanged(frozenset({Role.CALLER if turn % 2 else Role.AGENT})))
            await pilot.press("plus")
            await settle(pilot)
        assert painted.rows == painted.truth()
        assert sum("my bill doubled this month" in line for line in painted.text()) == 16


async def test_a_speaker_change_or_a_volume_key_repaints_only_the_activity_line() -> None:
    """The panel's state lives on its screen, and each line bound to it repaints itself.
    (Were the screen to repaint too, every speaker change and key would compose all 30
    rows: a frame's worth of CPU many times a minute on a busy call.)"""
    app = scripted(*live())
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        painted = PaintedScreen(app)
        activity = app.screen.query_one("#activity").region
        changes: list[SpeakersChanged | str] = [
            SpeakersChanged(frozenset({Role.CALLER})),
            SpeakersChanged(frozenset()),
            "minus",
            "plus",
        ]
        for change in changes:
            painted.painted_rows.clear()
            before = app.screen.query_one("#activity").render_line(0).text
            if isinstance(change, str):
                await pilot.press(change)
            else:
                app.call.emit(change)
            await settle(pilot)
            assert app.screen.query_one("#activity").render_line(0).text != before, change
            assert painted.painted_rows == set(range(activity.y, activity.bottom)), change


async def test_a_word_added_to_a_long_transcript_repaints_its_line_not_the_scrollbar() -> None:
    app = scripted(*live())
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        transcript, last = Transcript(), app.panel.transcript.segments()[-1].spoken_at

        def say(turn: int, text: str, *, final: bool) -> None:
            app.call.emit(turn_of(transcript, turn, text, final=final, after=last))

        for turn in range(40):  # past the view's height: the scrollbar shows
            say(turn, f"line {turn}", final=True)
        say(40, "my bill", final=False)
        await settle(pilot)
        scrollbar = app.screen.query_one(TranscriptView).vertical_scrollbar.region
        assert scrollbar.height > 0
        painted = PaintedScreen(app)
        say(40, "my bill doubled", final=False)
        await settle(pilot)
        assert any("my bill doubled" in line for line in painted.text())
        assert painted.painted_columns, "the word was painted"
        assert not painted.painted_columns & set(range(scrollbar.x, scrollbar.right))


FROZEN_AFTER_START = """
import asyncio, gc
from snoop_tui.app import SnoopApp
from tests.panel_states import ScriptedCall, live, settle

async def main(handle_signals):
    app = SnoopApp("conv_test", ScriptedCall(live()), handle_signals=handle_signals)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        print(gc.get_freeze_count())

asyncio.run(main(True))
gc.unfreeze()
asyncio.run(main(False))
"""


def test_the_app_run_for_real_keeps_its_startup_heap_out_of_full_collections() -> None:
    """A full collection walked Textual's whole startup heap and stalled a frame (the
    flood benchmark's slowest keys): the CLI's app freezes that heap once it is drawn;
    an app built as tests build it does not. (In a process of its own: freezing is
    process-wide.)"""
    done = subprocess.run(
        [sys.executable, "-c", FROZEN_AFTER_START],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for_real, as_tested = (int(count) for count in done.stdout.split())
    assert for_real > 10_000
    assert as_tested == 0

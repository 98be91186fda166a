"""The call in its own process: the panel survives the call process's crashes.

The real app (Pilot) on the real local stack, with the call in a real child process
(`snoop_tui.call_process`), as `snoop-tui watch` runs it. Crashes are real signals
sent to that process; a Python exception and unreadable protocol lines come from
`tests/call_process_faults.py`, since no real part produces them on demand.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from textual.message import Message
from textual.pilot import Pilot

from snoop_tui.app import SnoopApp
from snoop_tui.events import CallState, StateChanged
from snoop_tui.launch import make_app
from snoop_tui.messages import CallEventMessage
from snoop_tui.process_call import CRASHED, CallProcess
from snoop_tui.settings import Settings
from snoop_tui.widgets.transcript_view import TranscriptView
from tests.fixtures_audio import NullSink, band_energy
from tests.live import SIZE, LiveCall, list_participants, running_call, wait_for
from tests.terminal import gone

FAULTY = (sys.executable, "-m", "tests.call_process_faults")


@dataclass
class Panel:
    app: SnoopApp[CallProcess]
    pilot: Pilot[None]
    call: LiveCall
    states: list[CallState] = field(default_factory=list)

    @property
    def state(self) -> CallState:
        return self.app.panel.call_state

    @property
    def view(self) -> TranscriptView:
        return self.app.panel.transcript

    def finals(self) -> list[str]:
        return [s.id for s in self.view.segments() if s.final]

    async def until(self, what: str, predicate: Any, timeout: float = 30.0) -> None:
        await wait_for(self.pilot, predicate, timeout=timeout, what=what)

    async def live(self) -> None:
        await self.until("LIVE", lambda: self.state is CallState.LIVE)


@asynccontextmanager
async def watching(
    settings: Settings, server: Any, conversation: tuple[str, str], **options: Any
) -> AsyncIterator[Panel]:
    states: list[CallState] = []

    def hook(message: Message) -> None:
        if isinstance(message, CallEventMessage) and isinstance(message.event, StateChanged):
            states.append(message.event.state)

    async with running_call(
        server,
        conversation,
        pause_between_turns=0.6,
        words_per_second=12,
        continuous_audio=True,
        end_by_agent_leaving=False,
    ) as live:
        app = make_app(settings, live.conversation_id, **options)
        async with app.run_test(size=SIZE, message_hook=hook) as pilot:
            panel = Panel(app, pilot, live, states)
            await panel.live()
            yield panel


async def test_the_panel_goes_live_and_streams_through_a_call_process(
    settings: Settings, livekit_server: Any, new_conversation: tuple[str, str]
) -> None:
    async with watching(settings, livekit_server, new_conversation) as panel:
        pid = panel.app.call.pid
        assert pid is not None and pid != os.getpid()
        panel.call.go.set()
        published = len(panel.call.call.script)
        await panel.until("every final", lambda: len(panel.finals()) == published)
        assert panel.finals() == [p.segment_id for p in panel.call.call.published_finals]
        await panel.pilot.press("x")
        await panel.until("the call process to leave", lambda: gone(pid), timeout=2.5)
    observers = await list_participants(livekit_server, new_conversation[1])
    assert not any(p.permission.hidden for p in observers)


@pytest.mark.parametrize("crash", [signal.SIGKILL, signal.SIGABRT, signal.SIGSEGV])
async def test_a_crashed_call_process_is_replaced_and_the_call_goes_on(
    crash: signal.Signals,
    settings: Settings,
    livekit_server: Any,
    new_conversation: tuple[str, str],
    null_sink: NullSink,
) -> None:
    async with watching(settings, livekit_server, new_conversation) as panel:
        panel.call.go.set()
        await panel.until("two finals", lambda: len(panel.finals()) >= 2)
        await panel.pilot.press("l")
        await panel.until("listening", lambda: panel.app.panel.listening)
        shown = [(s.key, s.text) for s in panel.view.segments() if s.final]
        first = panel.app.call.pid
        assert first is not None
        del panel.states[:]
        os.kill(first, crash)
        await panel.until("the crash notice", lambda: panel.app.panel.message == CRASHED)
        await panel.until("LIVE again", lambda: panel.state is CallState.LIVE and gone(first))
        assert panel.states[0] is CallState.RECONNECTING and panel.states[-1] is CallState.LIVE
        assert CallState.CONNECTING not in panel.states and CallState.ENDED not in panel.states
        assert panel.app.call.pid not in (None, first) and panel.app.call.spawned == 2
        after = [(s.key, s.text) for s in panel.view.segments() if s.final]
        assert after[: len(shown)] == shown  # every final already shown stays, as it was
        ids = [s.key for s in panel.view.segments()]
        assert len(ids) == len(set(ids))
        await panel.until("listening again", lambda: panel.app.panel.listening)
        await panel.pilot.pause(0.5)
        with null_sink.recording() as heard:
            await panel.pilot.pause(1.5)
        both = band_energy(heard.samples, heard.rate, 440) + band_energy(
            heard.samples, heard.rate, 660
        )
        assert both > 0.2, "the call is not heard after the rejoin"


async def test_a_python_exception_in_the_call_process_is_a_crash_too(
    settings: Settings, livekit_server: Any, new_conversation: tuple[str, str]
) -> None:
    program = (*FAULTY, "raise-on-focus")
    async with watching(settings, livekit_server, new_conversation, call_program=program) as panel:
        first = panel.app.call.pid
        await panel.pilot.press("f")
        await panel.until("the crash notice", lambda: panel.app.panel.message == CRASHED)
        await panel.live()
        assert panel.app.call.pid != first and panel.app.call.spawned == 2


async def test_three_crashes_in_a_minute_stop_the_rejoining(
    settings: Settings, livekit_server: Any, new_conversation: tuple[str, str]
) -> None:
    async with watching(settings, livekit_server, new_conversation) as panel:
        for crash in range(3):
            pid = panel.app.call.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            if crash < 2:
                await panel.until("a new call process", lambda old=pid: panel.app.call.pid != old)
                await panel.live()
        await panel.until("Ended", lambda: panel.state is CallState.ENDED)
        assert "crashed 3 times" in panel.app.panel.message
        assert panel.app.call.spawned == 3
        assert panel.view.segments() is not None  # the panel stays readable


async def test_lines_the_panel_cannot_understand_are_logged_and_skipped(
    settings: Settings,
    livekit_server: Any,
    new_conversation: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="snoop_tui.process_call")
    program = (*FAULTY, "garbage-first")
    async with watching(settings, livekit_server, new_conversation, call_program=program) as panel:
        panel.call.go.set()
        await panel.until("a final", lambda: len(panel.finals()) >= 1)
        assert panel.app.call.spawned == 1 and panel.state is CallState.LIVE
    complaints = "\n".join(r.getMessage() for r in caplog.records)
    for expected in (
        "not a JSON line",
        "unknown event type 'hologram'",
        "protocol version 2",
        "field 'role'",
        "over",
    ):
        assert expected in complaints, expected


async def test_the_health_readout_shows_the_join_and_each_voice_s_reception(
    settings: Settings, livekit_server: Any, new_conversation: tuple[str, str]
) -> None:
    async with watching(settings, livekit_server, new_conversation) as panel:
        await panel.pilot.press("i")
        await panel.until(
            "both voices' reception",
            lambda: panel.app.panel.health is not None and len(panel.app.panel.health.tracks) == 2,
            timeout=10,
        )
        health = panel.app.panel.health
        assert health is not None and health.joined_ms is not None and health.joined_ms > 0
        assert {t.role.value for t in health.tracks} == {"agent", "caller"}
        assert all(t.packets_received > 0 for t in health.tracks)
        assert health.audio_delay_ms is None  # muted: no delay to speak of
        shown = str(panel.app.screen.query_one("#health").render())
        assert "joined in" in shown and "Agent loss" in shown and "Caller loss" in shown
        await panel.pilot.press("i")
        await panel.pilot.pause()
        assert not panel.app.screen.query_one("#health").display

"""Every look of the panel, built from events alone: no server, no audio device.

A `ScriptedCall` is a `CallLink` that delivers a fixed list of events, as a real
call would, and records the commands it is sent. The snapshot tests and
`scripts/screenshots` both build each state from `PANEL_STATES`, so a screenshot
always shows what the tests check.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from textual._doc import take_svg_screenshot
from textual.pilot import Pilot

from snoop_tui.app import SnoopApp
from snoop_tui.events import (
    AudioChanged,
    CallContext,
    CallEvent,
    CallState,
    Health,
    HistoryLine,
    RoomAssigned,
    SpeakersChanged,
    StateChanged,
    TrackHealth,
    TranscriptUpdated,
)
from snoop_tui.link import EventSink, next_focus
from snoop_tui.transcript import Role, Transcript
from snoop_tui.widgets.transcript_pane import TranscriptOptions

CONVERSATION = "conv_7f3a9c21"
ROOM = "call-7f3a9c21"
NO_DEVICE = "No audio output matches 'Headset' (outputs found: none)."

_TURNS = (
    ("agent", Role.AGENT, "Thanks for calling Northwind Energy, this is Ava. How can I help?"),
    ("caller", Role.CALLER, "Hi, my bill this month is twice what I usually pay."),
    ("agent", Role.AGENT, "I'm sorry to hear that. Let me pull up the account for you."),
    ("caller", Role.CALLER, "Thank you. The account is under Jordan Ellis."),
    ("agent", Role.AGENT, "I see the meter reading for March was estimated, not read."),
    ("caller", Role.CALLER, "So the estimate was too high?"),
)
_HOSTILE = (
    ("agent", Role.AGENT, "[bold red]not markup[/] and [@click=app.quit]a link[/]"),
    ("caller", Role.CALLER, "copy \x1b]52;c;ZXZpbA==\x07 me \x1b[2J cleared?"),
    ("ghost-99", Role.OTHER, "Agent: I am not the agent"),
)


def transcript_events(
    turns: Sequence[tuple[str, Role, str]], *, interim_last: bool = False
) -> list[CallEvent]:
    """The turns as the session reports them: cleaned, ordered, the last maybe interim."""
    model = Transcript()
    events: list[CallEvent] = []
    for n, (owner, role, text) in enumerate(turns):
        final = not (interim_last and n == len(turns) - 1)
        speaker = role.label if role is not Role.OTHER else owner
        segment = model.update(
            f"seg-{n}",
            role=role,
            speaker=speaker,
            text=text,
            final=final,
            owner=owner,
            spoken_at=1_700_000_000_000 + n * 4_000,
        )
        assert segment is not None
        events.append(TranscriptUpdated(segment))
    return events


_STARTED = datetime.fromtimestamp(1_700_000_000 - 95, UTC)
_HISTORY = (
    HistoryLine(Role.AGENT, "Thanks for calling Northwind Energy, this is Ava.", _STARTED),
    HistoryLine(
        Role.CALLER,
        "Hi, my bill this month is twice what I usually pay.",
        _STARTED + timedelta(seconds=6),
    ),
)


def live(*more: CallEvent) -> tuple[CallEvent, ...]:
    """Joined, with the conversation so far and the agent speaking."""
    return (
        RoomAssigned(ROOM),
        StateChanged(CallState.LIVE),
        *transcript_events(_TURNS, interim_last=True),
        SpeakersChanged(frozenset({Role.AGENT})),
        *more,
    )


class ScriptedCall:
    """A `CallLink` that plays back events and remembers the commands it was sent."""

    def __init__(
        self,
        events: Sequence[CallEvent],
        *,
        audio_problem: str | None = None,
        health: Health | None = None,
    ) -> None:
        self.events = tuple(events)
        self.health = health
        self.commands: list[str] = []
        self.audio_problem = audio_problem
        self.listening = False
        self.volume = 1.0
        self.focus: Role | None = None
        self._on_event: EventSink | None = None

    async def start(self, on_event: EventSink) -> None:
        self._on_event = on_event
        for event in self.events:
            if isinstance(event, AudioChanged):
                self.listening, self.volume, self.focus = event.listening, event.volume, event.focus
            on_event(event)

    def emit(self, event: CallEvent) -> None:
        """Deliver one more event, as the call would."""
        assert self._on_event is not None, "the app has not started the call"
        self._on_event(event)

    def _audio(self, message: str | None = None) -> None:
        self.emit(AudioChanged(self.listening, self.volume, self.focus, message))

    async def listen(self) -> None:
        self.commands.append("listen")
        if self.audio_problem is not None:
            self._audio(self.audio_problem)
            return
        self.listening = True
        self._audio()

    async def mute(self) -> None:
        self.commands.append("mute")
        self.listening = False
        self._audio()

    async def cycle_focus(self) -> None:
        self.commands.append("focus")
        self.focus = next_focus(self.focus)
        self._audio()

    async def change_volume(self, steps: int) -> None:
        self.commands.append(f"volume {steps:+d}")
        self.volume = round(min(2.0, max(0.0, self.volume + steps / 10)), 2)
        self._audio()

    async def watch_health(self, on: bool) -> None:
        self.commands.append(f"health {'on' if on else 'off'}")
        if on and self.health is not None:
            self.emit(self.health)

    async def stop(self) -> None:
        if "stop" not in self.commands:
            self.commands.append("stop")


@dataclass(frozen=True)
class PanelState:
    """One look of the panel: the events that lead to it, and the terminal it is seen in."""

    events: tuple[CallEvent, ...]
    size: tuple[int, int] = (80, 24)
    no_color: bool = False
    colours: str = "truecolor"
    """"truecolor", "16" (TERM=xterm) or "ascii" (a Linux console: 16 colours, no Unicode)."""
    audio_problem: str | None = None
    health: Health | None = None
    press: tuple[str, ...] = field(default=())
    screenshot: str | None = None
    """The file in screenshots/ (without .svg) that shows this state, if any."""
    alerts: tuple[str, ...] = ()

    def build(self) -> SnoopApp[ScriptedCall]:
        with self.environment():
            return SnoopApp(
                CONVERSATION,
                ScriptedCall(self.events, audio_problem=self.audio_problem, health=self.health),
                options=TranscriptOptions(alerts=self.alerts, bell=False),
            )

    def svg(self) -> str:
        """The state as an SVG screenshot, rendered as the snapshot tests render it."""
        return take_svg_screenshot(
            self.build(), terminal_size=self.size, press=self.press, run_before=settle
        )

    @contextmanager
    def environment(self) -> Iterator[None]:
        """The terminal's variables are read when the app is built: set them around `build`."""
        terminals: dict[str, dict[str, str | None]] = {
            "truecolor": {"TERM": "xterm-256color", "COLORTERM": "truecolor"},
            "16": {"TERM": "xterm", "COLORTERM": None},
            "ascii": {"TERM": "linux", "COLORTERM": None},
        }
        env = {"NO_COLOR": "1" if self.no_color else None, **terminals[self.colours]}
        saved = {name: os.environ.get(name) for name in env}
        try:
            for name, value in env.items():
                _set_env(name, value)
            yield
        finally:
            for name, value in saved.items():
                _set_env(name, value)


def _set_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


async def settle(pilot: Pilot[Any]) -> None:
    """Let every scripted event reach the screen."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


PANEL_STATES: dict[str, PanelState] = {
    "connecting": PanelState(()),
    "live-muted": PanelState(live(), screenshot="panel-muted"),
    "live-muted-wide": PanelState(live(), size=(200, 50)),
    "live-no-color": PanelState(live(), no_color=True, screenshot="panel-no-color"),
    "live-16-colours": PanelState(live(), colours="16", screenshot="panel-16-colours"),
    "live-ascii-console": PanelState(live(), colours="ascii"),
    "live-50x16": PanelState(live(), size=(50, 16)),
    "live-60x20": PanelState(live(), size=(60, 20)),
    "reconnecting-16-colours": PanelState(live(StateChanged(CallState.RECONNECTING)), colours="16"),
    "connecting-no-color": PanelState((), no_color=True),
    "ended-no-color": PanelState(
        live(StateChanged(CallState.ENDED, "The agent left the call.")), no_color=True
    ),
    "listening-agent-focus": PanelState(
        live(AudioChanged(True, 1.2, Role.AGENT)), screenshot="panel-listening"
    ),
    "reconnecting": PanelState(live(StateChanged(CallState.RECONNECTING))),
    "health-readout": PanelState(
        live(AudioChanged(True, 1.0, None)),
        health=Health(
            joined_ms=182,
            audio_delay_ms=46,
            underflows=0,
            skips_ms=0,
            reconnects=1,
            tracks=(
                TrackHealth(Role.AGENT, 4980, 20, 3.2),
                TrackHealth(Role.CALLER, 5000, 0, 1.1),
            ),
        ),
        press=("i",),
    ),
    "ended": PanelState(
        live(
            SpeakersChanged(frozenset()),
            StateChanged(CallState.ENDED, "The agent left the call."),
        ),
        screenshot="panel-ended",
    ),
    "no-audio-output": PanelState(
        live(), audio_problem=NO_DEVICE, press=("l",), screenshot="panel-no-audio-output"
    ),
    "history": PanelState(
        (
            RoomAssigned(ROOM),
            StateChanged(CallState.LIVE),
            CallContext(_STARTED, _HISTORY, True),
            *transcript_events(_TURNS[2:], interim_last=True),
        ),
        screenshot="panel-history",
    ),
    "search": PanelState(live(), press=("slash", *"account"), screenshot="panel-search"),
    "alert": PanelState(live(), alerts=("estimated",), screenshot="panel-alert"),
    "hostile-text": PanelState(
        (RoomAssigned(ROOM), StateChanged(CallState.LIVE), *transcript_events(_HOSTILE))
    ),
}

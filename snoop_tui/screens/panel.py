"""The snoop panel: badge and notice, call details, transcript, and the three controls.

The screen holds the call's state as reactive attributes and binds them to the
widgets that show them; the app sets them from the call's events. Nothing here
queries for a widget, so an event that arrives before the panel has finished
mounting is simply shown once it has.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer

from snoop_tui.events import AudioChanged, CallState, Health, StateChanged
from snoop_tui.transcript import Role, TranscriptSegment
from snoop_tui.widgets.badge import CallBadge
from snoop_tui.widgets.controls import CallControls
from snoop_tui.widgets.status_lines import (
    NOTICE,
    ActivityLine,
    CallDetails,
    HealthLine,
    PanelMessage,
    SafetyNotice,
)
from snoop_tui.widgets.transcript_view import TranscriptView

__all__ = ["NOTICE", "PanelScreen", "audio_notice"]

AUDIO_HELP = 'See README: "Hearing the audio over SSH".'


def audio_notice(problem: str) -> str:
    """What the panel says when the audio cannot play; the transcript is unaffected."""
    return f"{problem} The transcript keeps streaming. {AUDIO_HELP}"


class PanelScreen(Screen[None]):
    """Layout and state; the app decides what happens on each key or button."""

    call_state: reactive[CallState] = reactive(CallState.CONNECTING)
    room_name: reactive[str] = reactive("")
    listening: reactive[bool] = reactive(False)
    volume: reactive[float] = reactive(1.0)
    audio_focus: reactive[Role | None] = reactive(None)
    speaking: reactive[frozenset[Role]] = reactive(frozenset())
    message: reactive[str] = reactive("")
    health: reactive[Health | None] = reactive(None)
    show_health: reactive[bool] = reactive(False)

    def __init__(self, conversation_id: str) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.transcript = TranscriptView(id="transcript")

    def compose(self) -> ComposeResult:
        with Horizontal(id="status"):
            yield CallBadge(id="badge").data_bind(state=PanelScreen.call_state)
            yield SafetyNotice(id="notice").data_bind(state=PanelScreen.call_state)
        yield CallDetails(self.conversation_id, id="details").data_bind(room=PanelScreen.room_name)
        yield ActivityLine(id="activity").data_bind(
            listening=PanelScreen.listening,
            volume=PanelScreen.volume,
            audio_focus=PanelScreen.audio_focus,
            speaking=PanelScreen.speaking,
        )
        yield HealthLine(id="health").data_bind(health=PanelScreen.health)
        yield PanelMessage(id="message").data_bind(text=PanelScreen.message)
        yield self.transcript
        yield CallControls(id="controls").data_bind(
            state=PanelScreen.call_state, listening=PanelScreen.listening
        )
        yield Footer()

    def on_mount(self) -> None:
        self.watch_show_health(self.show_health)

    def watch_show_health(self, shown: bool) -> None:
        self.query("#health").set(display=shown)

    # what the app calls ------------------------------------------------------

    def show_state(self, event: StateChanged) -> None:
        self.call_state = event.state
        if not event.state.in_call:
            self.speaking = frozenset()
        if event.state is CallState.ENDED:
            reason = f"{event.reason} " if event.reason else ""
            self.message = f"Call ended. {reason}Press x to close."

    def show_audio(self, event: AudioChanged) -> None:
        self.listening = event.listening
        self.volume = event.volume
        self.audio_focus = event.focus
        if event.message:
            self.message = audio_notice(event.message)

    def show_segment(self, segment: TranscriptSegment) -> None:
        self.transcript.show_segment(segment)

"""The snoop panel: badge and notice, call details, transcript, and the three controls."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Footer, Static

from snoop_tui.session import CallState
from snoop_tui.transcript import Role, TranscriptSegment
from snoop_tui.widgets.badge import CallBadge
from snoop_tui.widgets.transcript_view import TranscriptView

NOTICE = "Listening in. The agent and caller can't see you or hear you."


class PanelScreen(Screen[None]):
    """Layout and rendering only; the app decides what happens on each key or button."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.room_name = ""
        self.listening = False
        self.volume = 1.0
        self.audio_focus: Role | None = None
        self.speaking: frozenset[Role] = frozenset()

    def compose(self) -> ComposeResult:
        with Horizontal(id="status"):
            yield CallBadge(id="badge")
            yield Static(NOTICE, id="notice")
        yield Static(id="details")
        yield Static(id="activity")
        yield Static(id="message")
        yield TranscriptView(id="transcript")
        with Horizontal(id="controls"):
            yield Button("Listen", id="listen", variant="success")
            yield Button("Mute", id="mute", disabled=True)
            yield Button("Stop ✕", id="stop", variant="error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#message", Static).display = False
        self.query_one("#listen", Button).disabled = True
        self.refresh_details()

    # what the app calls ------------------------------------------------------

    def set_room(self, room_name: str) -> None:
        self.room_name = room_name
        self.refresh_details()

    def set_state(self, state: CallState, reason: str | None) -> None:
        self.query_one(CallBadge).state = state
        self.query_one("#notice", Static).display = state in (
            CallState.LIVE,
            CallState.RECONNECTING,
            CallState.CONNECTING,
        )
        active = state in (CallState.LIVE, CallState.RECONNECTING)
        if not active:
            self.speaking = frozenset()
        self._update_controls(active)
        if state is CallState.ENDED:
            self.show_message(f"Call ended. {reason or ''} Press x to close.".replace("  ", " "))
        self.refresh_details()

    def set_audio(self, listening: bool, volume: float, focus: Role | None) -> None:
        self.listening = listening
        self.volume = volume
        self.audio_focus = focus
        self._update_controls(
            self.query_one(CallBadge).state in (CallState.LIVE, CallState.RECONNECTING)
        )
        self.refresh_details()

    def set_speaking(self, roles: frozenset[Role]) -> None:
        self.speaking = roles
        self.refresh_details()

    def show_segment(self, segment: TranscriptSegment) -> None:
        self.query_one(TranscriptView).show_segment(segment)

    def show_message(self, text: str) -> None:
        message = self.query_one("#message", Static)
        message.update(Text(text))
        message.display = bool(text)

    # rendering ---------------------------------------------------------------

    def _update_controls(self, active: bool) -> None:
        self.query_one("#listen", Button).disabled = not active or self.listening
        self.query_one("#mute", Button).disabled = not active or not self.listening

    def refresh_details(self) -> None:
        details = Text(no_wrap=True, overflow="ellipsis")
        details.append("Conversation ", style="dim")
        details.append(self.conversation_id)
        if self.room_name:
            details.append(" · Room ", style="dim")
            details.append(self.room_name)
        self.query_one("#details", Static).update(details)

        activity = Text(no_wrap=True, overflow="ellipsis")
        activity.append("Audio ", style="dim")
        activity.append("listening" if self.listening else "muted", style="bold")
        activity.append(f" {self.volume:.0%}", style="dim")
        if self.audio_focus is not None:
            activity.append(f" · {self.audio_focus.label} only", style="bold")
        activity.append(" · Speaking:", style="dim")
        for role in (Role.AGENT, Role.CALLER):
            on = role in self.speaking
            activity.append(f" {role.label} ", style="dim")
            activity.append("●" if on else "○", style="bold" if on else "dim")
        self.query_one("#activity", Static).update(activity)

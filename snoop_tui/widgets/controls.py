"""Listen, Mute and Stop: which of them can be pressed follows the call and the audio."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Button

from snoop_tui.events import CallState


class CallControls(Horizontal):
    """The three buttons; pressing one is handled by the app's actions."""

    state: reactive[CallState] = reactive(CallState.CONNECTING)
    listening: reactive[bool] = reactive(False)

    def compose(self) -> ComposeResult:
        yield Button("Listen", id="listen", variant="success", disabled=True)
        yield Button("Mute", id="mute", disabled=True)
        yield Button("Stop ✕", id="stop", variant="error")

    def on_mount(self) -> None:
        self._sync()

    def watch_state(self) -> None:
        self._sync()

    def watch_listening(self) -> None:
        self._sync()

    def _sync(self) -> None:
        # Before mount there are no buttons yet and the query is empty: on_mount syncs.
        self.query("#listen").set(disabled=not self.state.in_call or self.listening)
        self.query("#mute").set(disabled=not self.state.in_call or not self.listening)

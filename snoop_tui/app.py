"""The Textual app: one panel on one call, driven through a `CallLink`.

Thin by design: keys and buttons become `action_*` methods that send the call a
command; the call's events arrive as one message type and set the panel's
reactive state. The app never touches the SDK, the audio device or the network.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Generic, TypeVar

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.widgets import Button
from textual.worker import Worker, WorkerState

from snoop_tui.errors import SnoopError
from snoop_tui.events import (
    AudioChanged,
    CallEvent,
    CallFailed,
    Health,
    Notice,
    RoomAssigned,
    SpeakersChanged,
    StateChanged,
    TranscriptUpdated,
)
from snoop_tui.link import CallLink
from snoop_tui.messages import CallEventMessage
from snoop_tui.screens.panel import PanelScreen

log = logging.getLogger(__name__)

Link = TypeVar("Link", bound=CallLink)


class SnoopApp(App[None], Generic[Link]):
    """One conversation, one panel; generic in the link so tests see the call they built."""

    TITLE = "snoop-tui"
    CSS_PATH = "snoop.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("l", "listen", "Listen"),
        Binding("m", "mute", "Mute"),
        Binding("x", "stop", "Stop"),
        Binding("f", "focus_side", "Focus"),
        Binding("plus,equals_sign", "volume(1)", "Vol+", key_display="+"),
        Binding("minus", "volume(-1)", "Vol-", key_display="-"),
        Binding("i", "toggle_health", "Health"),
        Binding("q", "stop", "Stop", show=False),
        Binding("escape", "stop", "Stop", show=False),
        Binding("ctrl+c", "stop", "Stop", show=False, priority=True),
    ]

    def __init__(self, conversation_id: str, call: Link, *, handle_signals: bool = False) -> None:
        super().__init__()
        self.handle_signals = handle_signals
        """End as Stop does on SIGTERM and SIGHUP (a closed terminal): only when run for real."""
        self.conversation_id = conversation_id
        self.call = call
        self.failure: SnoopError | None = None
        self.panel = PanelScreen(conversation_id)

    def get_default_screen(self) -> PanelScreen:
        return self.panel

    def on_mount(self) -> None:
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self._signalled)
        self.start_call()

    def _signalled(self) -> None:
        self.run_worker(self.action_stop(), group="stop", exclusive=True)

    @work(exclusive=True, group="call", exit_on_error=False)
    async def start_call(self) -> None:
        """Ask for a listener token and join; everything after arrives as events."""
        await self.call.start(self._post_event)

    def _post_event(self, event: CallEvent) -> None:
        self.post_message(CallEventMessage(event))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            log.error("unexpected failure", exc_info=event.worker.error)
            self.fail(SnoopError("Something unexpected went wrong; see --log-file for details."))

    def fail(self, error: SnoopError) -> None:
        """End the app with the error's exit code; the CLI prints its message."""
        self.failure = error
        self.exit(return_code=error.exit_code)

    # the call's events -------------------------------------------------------

    def on_call_event_message(self, message: CallEventMessage) -> None:
        event = message.event
        if isinstance(event, StateChanged):
            self.panel.show_state(event)
        elif isinstance(event, TranscriptUpdated):
            self.panel.show_segment(event.segment)
        elif isinstance(event, SpeakersChanged):
            self.panel.speaking = event.active
        elif isinstance(event, AudioChanged):
            self.panel.show_audio(event)
        elif isinstance(event, RoomAssigned):
            self.panel.room_name = event.room_name
        elif isinstance(event, Notice):
            self.panel.message = event.text
        elif isinstance(event, Health):
            self.panel.health = event
        elif isinstance(event, CallFailed):
            self.fail(event.error)

    # actions -----------------------------------------------------------------

    async def action_listen(self) -> None:
        await self.call.listen()

    async def action_mute(self) -> None:
        await self.call.mute()

    async def action_stop(self) -> None:
        """Leave the room and close the panel."""
        await self.call.stop()
        self.exit(return_code=0)

    async def action_focus_side(self) -> None:
        """Cycle what you hear: both sides, the agent only, the caller only."""
        await self.call.cycle_focus()

    async def action_volume(self, steps: int) -> None:
        await self.call.change_volume(steps)

    async def action_toggle_health(self) -> None:
        """Show or hide the health readout (measured only while it is shown)."""
        shown = not self.panel.show_health
        self.panel.show_health = shown
        await self.call.watch_health(shown)

    @on(Button.Pressed, "#listen")
    async def _listen_pressed(self) -> None:
        await self.action_listen()

    @on(Button.Pressed, "#mute")
    async def _mute_pressed(self) -> None:
        await self.action_mute()

    @on(Button.Pressed, "#stop")
    async def _stop_pressed(self) -> None:
        await self.action_stop()

    async def on_unmount(self) -> None:
        await self.call.stop()

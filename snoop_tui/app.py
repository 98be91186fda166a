"""The Textual app: asks for a listener token, wires a ListenerSession to the panel.

Thin by design: keys and buttons become `action_*` methods that call the session;
session events arrive as messages and are handed to the panel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.widgets import Button
from textual.worker import Worker, WorkerState

from snoop_tui.call_status import DEFAULT_INTERVAL, watch_until_terminal
from snoop_tui.errors import AudioUnavailable, SnoopError
from snoop_tui.messages import (
    AudioStateChanged,
    CallStateChanged,
    SpeakerActivity,
    TranscriptChanged,
    to_message,
)
from snoop_tui.platform import PlatformClient
from snoop_tui.screens.panel import PanelScreen
from snoop_tui.session import CallState, ListenerSession, SessionEvent
from snoop_tui.settings import Settings
from snoop_tui.transcript import Role

log = logging.getLogger(__name__)

AUDIO_HELP = 'See README: "Hearing the audio over SSH".'


class SnoopApp(App[None]):
    """One conversation, one panel."""

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
        Binding("q", "stop", "Stop", show=False),
        Binding("escape", "stop", "Stop", show=False),
        Binding("ctrl+c", "stop", "Stop", show=False, priority=True),
    ]

    def __init__(
        self,
        settings: Settings,
        conversation_id: str,
        *,
        platform_factory: Callable[[Settings], PlatformClient] = PlatformClient,
        allow_insecure_ws: bool = False,
        status_interval: float = DEFAULT_INTERVAL,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.conversation_id = conversation_id
        self.session: ListenerSession | None = None
        self.failure: SnoopError | None = None
        self._platform_factory = platform_factory
        self._allow_insecure_ws = allow_insecure_ws
        self._platform: PlatformClient | None = None
        self._leaving = False
        self.status_interval = status_interval
        self.panel = PanelScreen(conversation_id)

    def get_default_screen(self) -> PanelScreen:
        return self.panel

    def on_mount(self) -> None:
        self.join_call()

    # starting ----------------------------------------------------------------

    @work(exclusive=True, group="session", exit_on_error=False)
    async def join_call(self) -> None:
        """Request a listener token, then join the room (the session checks the token first)."""
        platform = self._platform_factory(self.settings)
        self._platform = platform
        grant = await platform.listener_token(self.conversation_id)
        self.panel.set_room(grant.room_name)
        session = ListenerSession(
            grant,
            on_event=self._post_session_event,
            output_device=self.settings.output_device,
            connect_timeout=self.settings.connect_timeout,
            refresh_grant=lambda: platform.listener_token(self.conversation_id),
            allow_insecure_ws=self._allow_insecure_ws,
        )
        self.session = session
        await session.connect()
        self.watch_status()

    @work(exclusive=True, group="status", exit_on_error=False)
    async def watch_status(self) -> None:
        """End the call when the platform says the conversation is over."""
        if self._platform is None:
            return
        platform = self._platform
        conversation = await watch_until_terminal(
            lambda: platform.conversation(self.conversation_id),
            interval=self.status_interval,
        )
        if conversation is not None and self.session is not None:
            await self.session.end(f"The conversation is now {conversation.status}.")

    def _post_session_event(self, event: SessionEvent) -> None:
        if not self._leaving:  # the panel's widgets may already be gone
            self.post_message(to_message(event))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        if event.worker.group == "status":  # the room's own signals still end the call
            log.warning("conversation status watch failed", exc_info=error)
            return
        if isinstance(error, SnoopError):
            self.fail(error)
        else:
            log.error("unexpected failure", exc_info=error)
            self.fail(SnoopError("Something unexpected went wrong; see --log-file for details."))

    def fail(self, error: SnoopError) -> None:
        """End the app with the error's exit code; the CLI prints its message."""
        self._leaving = True
        self.failure = error
        self.exit(return_code=error.exit_code)

    # actions -----------------------------------------------------------------

    async def action_listen(self) -> None:
        if self.session is None or self.session.state is not CallState.LIVE:
            return
        try:
            await self.session.listen()
        except AudioUnavailable as error:
            self.panel.show_message(f"{error.message} The transcript keeps streaming. {AUDIO_HELP}")

    async def action_mute(self) -> None:
        if self.session is not None:
            await self.session.mute()

    async def action_stop(self) -> None:
        """Leave the room and close the panel."""
        self._leaving = True
        if self.session is not None:
            await self.session.stop()
        self.exit(return_code=0)

    def action_focus_side(self) -> None:
        """Cycle what you hear: both sides, the agent only, the caller only."""
        if self.session is not None:
            order = [None, Role.AGENT, Role.CALLER]
            current = order.index(self.session.audio_focus)
            self.session.set_focus(order[(current + 1) % len(order)])

    def action_volume(self, steps: int) -> None:
        if self.session is not None:
            self.session.change_volume(steps)

    @on(Button.Pressed, "#listen")
    async def _listen_pressed(self) -> None:
        await self.action_listen()

    @on(Button.Pressed, "#mute")
    async def _mute_pressed(self) -> None:
        await self.action_mute()

    @on(Button.Pressed, "#stop")
    async def _stop_pressed(self) -> None:
        await self.action_stop()

    # session events ----------------------------------------------------------

    def on_call_state_changed(self, message: CallStateChanged) -> None:
        if self._leaving:
            return
        self.panel.set_state(message.event.state, message.event.reason)

    def on_transcript_changed(self, message: TranscriptChanged) -> None:
        if self._leaving:
            return
        self.panel.show_segment(message.segment)

    def on_speaker_activity(self, message: SpeakerActivity) -> None:
        if self._leaving:
            return
        self.panel.set_speaking(message.event.active)

    def on_audio_state_changed(self, message: AudioStateChanged) -> None:
        if self._leaving:
            return
        event = message.event
        self.panel.set_audio(event.listening, event.volume, event.focus)
        if message.event.message:
            self.panel.show_message(
                f"{message.event.message} The transcript keeps streaming. {AUDIO_HELP}"
            )

    async def on_unmount(self) -> None:
        self._leaving = True
        if self.session is not None:
            await self.session.stop()
        if self._platform is not None:
            await self._platform.aclose()


def make_app(settings: Settings, conversation_id: str, **options: object) -> SnoopApp:
    """The one way the CLI, the demo and the tests build the app."""
    return SnoopApp(settings, conversation_id, **options)  # type: ignore[arg-type]

"""The snoop panel: one call's badge and notice, details, transcript and controls.

The screen owns its call (a `CallLink`): it starts it when shown, turns keys and
buttons into the call's commands, and sets its reactive state from the call's
events, which the widgets are bound to. Nothing here queries for a widget, so an
event that arrives before the panel has finished mounting is shown once it has.
When the supervisor leaves (or the call cannot start) the screen is dismissed
with the failure, if any: the app then closes, or goes back to the board.
"""

from __future__ import annotations

import logging
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Button
from textual.worker import Worker, WorkerState

from snoop_tui.errors import SnoopError
from snoop_tui.events import (
    AudioChanged,
    CallContext,
    CallEvent,
    CallFailed,
    CallState,
    Health,
    Notice,
    RoomAssigned,
    SpeakersChanged,
    StateChanged,
    TranscriptUpdated,
)
from snoop_tui.first_frame import NOTICE
from snoop_tui.link import CallLink
from snoop_tui.messages import CallEventMessage
from snoop_tui.screens.compositor import CroppedCompositor
from snoop_tui.screens.help import PANEL_NOTES, HelpScreen
from snoop_tui.terminal_caps import Glyphs, glyphs
from snoop_tui.transcript import Role, TranscriptSegment
from snoop_tui.widgets.badge import CallBadge
from snoop_tui.widgets.controls import CallControls
from snoop_tui.widgets.key_hints import KeyHints
from snoop_tui.widgets.status_lines import (
    ActivityLine,
    CallDetails,
    HealthLine,
    PanelMessage,
    SafetyNotice,
)
from snoop_tui.widgets.transcript_pane import TranscriptOptions, TranscriptPane

__all__ = ["NOTICE", "PanelScreen", "audio_notice"]

log = logging.getLogger(__name__)

AUDIO_HELP = "To hear it over SSH on your own machine: snoop-tui help audio."


def audio_notice(problem: str) -> str:
    """What the panel says when the audio cannot play; the transcript is unaffected."""
    return f"{problem} The transcript keeps streaming. {AUDIO_HELP}"


class PanelScreen(Screen[SnoopError | None]):
    """One call: its state, its keys, its events. Dismissed with the failure, if any."""

    BINDINGS = [
        Binding("l", "listen", "Listen", tooltip="Play the call's audio (agent and caller)"),
        Binding("m", "mute", "Mute", tooltip="Stop the audio; the transcript keeps streaming"),
        Binding("x", "leave", "Stop", tooltip="Leave the call (q does the same)"),
        Binding(
            "f",
            "focus_side",
            "Focus",
            tooltip="Hear both sides, the agent only, or the caller only "
            "(what you hear, not what you read: the transcript shows both)",
        ),
        Binding("plus,equals_sign", "volume(1)", "Vol+", key_display="+", tooltip="Louder"),
        Binding("minus", "volume(-1)", "Vol-", key_display="-", tooltip="Softer"),
        Binding("i", "toggle_health", "Health", tooltip="Show or hide the health readout"),
        Binding("question_mark,h,f1", "help", "Help", key_display="?", tooltip="This help"),
        Binding("slash", "search", "Search", key_display="/", tooltip="Search the whole call"),
        Binding("n", "find(1)", "Next match", show=False, tooltip="The next search match"),
        Binding("N", "find(-1)", "Previous match", show=False, tooltip="The previous match"),
        Binding("t", "times", "Times", show=False, tooltip="Time into the call, or clock time"),
        Binding("a", "next_alert", "Next alert", show=False, tooltip="Go to the next alert"),
        Binding("c", "copy", "Copy", show=False, tooltip="Copy the match, or the last line"),
        Binding("s", "save", "Save", show=False, tooltip="Save the transcript (Markdown, JSON)"),
        Binding("end", "live", "Live", show=False, tooltip="Back to the newest line"),
        Binding("escape", "close_search", "Close search", show=False),
        Binding("q", "leave", "Stop", show=False),
    ]
    """Esc only ever closes what is open (the palette, help, search): never the call."""

    # The screen draws none of these itself: the widgets bound to them do, each
    # repainting its own line. (A screen reactive that repaints repaints the whole
    # screen: every speaker change, key and notice would compose every line.)
    call_state: reactive[CallState] = reactive(CallState.CONNECTING, repaint=False)
    room_name: reactive[str] = reactive("", repaint=False)
    listening: reactive[bool] = reactive(False, repaint=False)
    volume: reactive[float] = reactive(1.0, repaint=False)
    audio_focus: reactive[Role | None] = reactive(None, repaint=False)
    speaking: reactive[frozenset[Role]] = reactive(frozenset(), repaint=False)
    message: reactive[str] = reactive("", repaint=False)
    health: reactive[Health | None] = reactive(None, repaint=False)
    show_health: reactive[bool] = reactive(False, repaint=False)

    def __init__(
        self,
        conversation_id: str,
        call: CallLink,
        shapes: Glyphs | None = None,
        options: TranscriptOptions | None = None,
    ) -> None:
        super().__init__()
        self._compositor = CroppedCompositor()  # renders only the widgets under a change
        self.conversation_id = conversation_id
        self.call = call
        self.shapes = shapes or glyphs()
        self.pane = TranscriptPane(conversation_id, options, shapes=self.shapes, id="pane")
        self.transcript = self.pane.view
        self.saved: tuple[Path, Path] | None = None
        """Where the transcript was saved when the panel closed (`--save`), if it was."""
        self._leaving = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="status"):
            yield CallBadge(self.shapes, id="badge").data_bind(state=PanelScreen.call_state)
            yield SafetyNotice(id="notice").data_bind(state=PanelScreen.call_state)
        yield CallDetails(self.conversation_id, id="details").data_bind(room=PanelScreen.room_name)
        yield ActivityLine(self.shapes, id="activity").data_bind(
            listening=PanelScreen.listening,
            volume=PanelScreen.volume,
            audio_focus=PanelScreen.audio_focus,
            speaking=PanelScreen.speaking,
        )
        yield HealthLine(id="health").data_bind(health=PanelScreen.health)
        yield PanelMessage(id="message").data_bind(text=PanelScreen.message)
        yield self.pane
        yield CallControls(id="controls").data_bind(
            state=PanelScreen.call_state, listening=PanelScreen.listening
        )
        yield KeyHints()

    def on_mount(self) -> None:
        self.watch_show_health(self.show_health)
        self.transcript.focus()  # PageUp, PageDown, Home and End scroll it
        self.start_call()

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
            self.close(SnoopError("Something unexpected went wrong; see --log-file for details."))

    async def on_unmount(self) -> None:
        await self.call.stop()

    def close(self, failure: SnoopError | None = None) -> None:
        """Leave the call's screen (once), saying why if it failed."""
        if not self._leaving:
            self._leaving = True
            self.save_if_asked()
            self.dismiss(failure)

    def save_if_asked(self) -> None:
        """`--save`: keep the transcript whatever ends the panel (once)."""
        if self.pane.options.save_on_close and self.saved is None and self.transcript.segments():
            try:
                self.saved = self.pane.save()
            except SnoopError as error:
                log.error("could not save the transcript: %s", error)

    # the call's events -------------------------------------------------------

    def on_call_event_message(self, message: CallEventMessage) -> None:
        event = message.event
        if isinstance(event, StateChanged):
            self.show_state(event)
        elif isinstance(event, TranscriptUpdated):
            self.show_segment(event.segment)
        elif isinstance(event, SpeakersChanged):
            self.speaking = event.active
        elif isinstance(event, AudioChanged):
            self.show_audio(event)
        elif isinstance(event, RoomAssigned):
            self.room_name = event.room_name
        elif isinstance(event, Notice):
            self.message = event.text
        elif isinstance(event, Health):
            self.health = event
        elif isinstance(event, CallContext):
            self.pane.show_context(event)
        elif isinstance(event, CallFailed):
            self.close(event.error)

    # actions -----------------------------------------------------------------

    async def action_listen(self) -> None:
        await self.call.listen()

    async def action_mute(self) -> None:
        await self.call.mute()

    async def action_leave(self) -> None:
        """Stop: leave the room and close the panel."""
        await self.call.stop()
        self.close()

    async def action_focus_side(self) -> None:
        """Cycle what you hear: both sides, the agent only, the caller only."""
        await self.call.cycle_focus()

    async def action_volume(self, steps: int) -> None:
        await self.call.change_volume(steps)

    def action_search(self) -> None:
        self.pane.open_search()

    def action_find(self, step: int) -> None:
        self.pane.find(step)

    def action_close_search(self) -> None:
        if self.pane.searching:
            self.pane.close_search()

    def action_times(self) -> None:
        """Time into the call, or the clock's time (local zone)."""
        self.transcript.set_time_mode("wall" if self.transcript.time_mode == "call" else "call")

    def action_next_alert(self) -> None:
        if self.pane.next_alert() is None:
            self.notify("No alert so far.", timeout=3)

    def action_live(self) -> None:
        self.transcript.jump_to_live()

    def action_copy(self) -> None:
        """To the system clipboard by OSC 52: works over SSH, and in tmux with set-clipboard on."""
        line = self.pane.line_to_copy()
        if line is None:
            self.notify("Nothing to copy yet.", timeout=3)
            return
        self.app.copy_to_clipboard(line)
        self.notify(f"Copied: {line[:60]}", timeout=3)

    def action_save(self) -> None:
        try:
            markdown, jsonl = self.pane.save()
        except SnoopError as error:
            self.message = f"{error.title}: {error.message}"
            return
        self.notify(f"Saved {markdown} and {jsonl.name}", timeout=6)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen("Keys on a call", self.BINDINGS, PANEL_NOTES))

    async def action_toggle_health(self) -> None:
        """Show or hide the health readout (measured only while it is shown)."""
        self.show_health = not self.show_health
        await self.call.watch_health(self.show_health)

    @on(Button.Pressed, "#listen")
    async def _listen_pressed(self) -> None:
        await self.action_listen()

    @on(Button.Pressed, "#mute")
    async def _mute_pressed(self) -> None:
        await self.action_mute()

    @on(Button.Pressed, "#stop")
    async def _stop_pressed(self) -> None:
        await self.action_leave()

    def watch_show_health(self, shown: bool) -> None:
        self.query("#health").set(display=shown)

    # showing state -------------------------------------------------------------

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
        self.pane.show_segment(segment)

"""The listener session: joins a call's LiveKit room as a hidden observer and reports events.

This is the façade the UI side drives (connect, listen, mute, focus, volume, stop).
It owns the `rtc.Room` (a new one after each rejoin) and puts together the parts
that decide what the room's events mean: who is agent and who is caller (`roles`),
the transcript's text (`transcription`), whether the call is live, rejoining or over
(`lifecycle`, which also rejoins with a fresh token when the SDK gives up on the
room); `room_events` hands each SDK event to its part. What they decide reaches
`on_event` as a few small, typed events, on the asyncio loop. The session never
publishes: it has no code path that creates a track, sends data or opens an input
device.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from livekit import rtc

from snoop_tui.audio import AudioPlayer
from snoop_tui.audio_output import DEVICE_LATENCY_S
from snoop_tui.call_audio import CallAudio
from snoop_tui.errors import AudioUnavailable
from snoop_tui.events import (
    AudioChanged,
    CallState,
    Health,
    SessionEvent,
    SpeakersChanged,
    StateChanged,
    TranscriptUpdated,
)
from snoop_tui.health import health, track_health
from snoop_tui.lifecycle import CallLifecycle, CallRoom, GrantSource, Timing
from snoop_tui.liveness import StallWatch
from snoop_tui.platform import ListenerGrant
from snoop_tui.roles import CallRoster, role_of
from snoop_tui.room_events import RoomEvents
from snoop_tui.room_join import join_room
from snoop_tui.transcript import Role, Transcript
from snoop_tui.transcription import TranscriptionReader

log = logging.getLogger(__name__)

__all__ = [
    "AudioChanged",
    "CallState",
    "ListenerSession",
    "SessionEvent",
    "SpeakersChanged",
    "StateChanged",
    "TranscriptUpdated",
    "role_of",
]


class ListenerSession:
    """One hidden, subscribe-only presence in a call's room."""

    def __init__(
        self,
        grant: ListenerGrant,
        *,
        on_event: Callable[[SessionEvent], None],
        output_device: str | None = None,
        connect_timeout: float = 15.0,
        refresh_grant: GrantSource | None = None,
        rejoin_deadline: float = 60.0,
        allow_insecure_ws: bool = False,
    ) -> None:
        self.transcript = Transcript()
        self._on_event = on_event
        self._connect_timeout = connect_timeout
        self._allow_insecure_ws = allow_insecure_ws
        self._room = rtc.Room()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._audio = CallAudio(output_device, self.on_player_fault)
        self._roster = CallRoster(lambda: self._room.remote_participants)
        self._stall_watch = StallWatch(
            lambda: self._room,
            on_stall=lambda: self._lifecycle.stalled(),
            on_resume=lambda: self._lifecycle.resumed(),
        )
        self._transcription = TranscriptionReader(
            self.transcript,
            role_of_sender=self._roster.role_by_identity,
            on_update=self._transcribed,
            spawn=self._spawn,
        )
        room_side = CallRoom(
            join=self._join,
            leave=self._leave_room,
            silence=self.mute,
            forget_tracks=self._audio.forget_tracks,
            agent_present=self._roster.agent_present,
        )
        self._lifecycle = CallLifecycle(
            grant,
            room_side,
            on_change=lambda state, reason: self._emit(StateChanged(state, reason)),
            refresh_grant=refresh_grant,
            timing=Timing(rejoin_deadline=rejoin_deadline),
        )
        self._events = RoomEvents(
            lambda: self._room,
            roster=self._roster,
            audio=self._audio,
            transcription=self._transcription,
            lifecycle=self._lifecycle,
            on_speakers=self._emit,
        )

    @property
    def grant(self) -> ListenerGrant:
        """The grant of the room we are in: a fresh one after a rejoin with a renewed token."""
        return self._lifecycle.grant

    @property
    def state(self) -> CallState:
        return self._lifecycle.state

    @property
    def state_history(self) -> list[CallState]:
        """Every state the call went through, in order (short: one entry per transition)."""
        return self._lifecycle.history

    @property
    def rejoins(self) -> int:
        return self._lifecycle.rejoins

    @property
    def rejoin_attempts(self) -> int:
        return self._lifecycle.rejoin_attempts

    @property
    def listening(self) -> bool:
        return self._audio.playing

    @property
    def identity(self) -> str:
        return self._room.local_participant.identity if self._room.isconnected() else ""

    @property
    def volume(self) -> float:
        return self._audio.volume

    @property
    def audio_focus(self) -> Role | None:
        return self._audio.focus

    @property
    def player(self) -> AudioPlayer:
        return self._audio.player

    # lifecycle ---------------------------------------------------------------

    async def connect(self) -> None:
        """Check the grant and join; raise `UnsafeListenerToken` or `RoomConnectError`."""
        self._loop = asyncio.get_running_loop()
        self._emit(StateChanged(CallState.CONNECTING))
        lifecycle = self._lifecycle
        await lifecycle.start()
        self._spawn(self._stall_watch.run(lambda: not lifecycle.over))

    async def health(self, joined_ms: float | None) -> Health:
        """The health readout now: our audio path, reconnects, and each track's reception."""
        player = self._audio.player
        return health(
            joined_ms=joined_ms,
            player=player.stats if self.listening else None,
            device_latency_ms=DEVICE_LATENCY_S * 1000.0,
            rate=player.sample_rate,
            reconnects=self.state_history.count(CallState.RECONNECTING),
            tracks=await track_health(self._room, self._roster.role),
        )

    async def stop(self) -> None:
        """Leave the room and stop playback. Idempotent."""
        await self._lifecycle.stop()
        current = asyncio.current_task()
        pending = [task for task in self._tasks if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def end(self, reason: str) -> None:
        """The call is over: say why, stop audio, leave; the transcript stays."""
        await self._lifecycle.end(reason)

    async def _join(self, grant: ListenerGrant) -> None:
        """Join a new room with `grant`: the lifecycle's way in, at first and on each rejoin."""
        room = await join_room(
            grant,
            connect_timeout=self._connect_timeout,
            allow_insecure_ws=self._allow_insecure_ws,
            prepare=self._adopt,
        )
        present = list(room.remote_participants.values())
        self._roster.pin_caller(present)
        for participant in present:
            self._events.file_audio_tracks(participant)

    def _adopt(self, room: rtc.Room) -> None:
        self._room = room
        self._events.wire(room)

    async def _leave_room(self) -> None:
        with contextlib.suppress(Exception):
            await self._room.disconnect()

    # audio -------------------------------------------------------------------

    async def listen(self) -> None:
        """Start playing every remote audio track, mixed. Raises `AudioUnavailable`."""
        if self.listening or not self._lifecycle.in_call:
            return
        self._audio.start()
        self._emit_audio()

    async def mute(self) -> None:
        """Stop playing audio (and close the output stream). The transcript carries on."""
        if self.listening:
            await self._audio.stop()
            self._emit_audio()

    def set_focus(self, role: Role | None) -> None:
        """Hear only the agent, only the caller, or (None) both."""
        self._audio.set_focus(role)
        self._emit_audio()

    def change_volume(self, steps: int) -> None:
        self._audio.change_volume(steps)
        self._emit_audio()

    def _emit_audio(self, message: str | None = None) -> None:
        self._emit(
            AudioChanged(self.listening, self._audio.volume, self._audio.focus, message=message)
        )

    def on_player_fault(self, error: AudioUnavailable) -> None:
        """Called when the output device goes away (the player reports it on the loop)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._spawn, self._audio_fault(error))

    async def _audio_fault(self, error: AudioUnavailable) -> None:
        if self.listening:
            await self._audio.stop()
            self._emit_audio(error.message)

    # plumbing ----------------------------------------------------------------

    def _transcribed(self, event: TranscriptUpdated) -> None:
        self._stall_watch.heard()  # it came over the call's transport: the server is there
        self._emit(event)

    def _emit(self, event: SessionEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # a faulty listener must not break the room's event loop
            log.exception("session event handler failed")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

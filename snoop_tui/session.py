"""The listener session: joins a call's LiveKit room as a hidden observer and reports events.

It owns the `rtc.Room`. SDK callbacks become a few small, typed events handed to
`on_event` on the asyncio loop; the UI (or a test) decides what to do with them.
The session never publishes: it has no code path that creates a track, sends
data or opens an input device.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from livekit import rtc

from snoop_tui.audio import AudioPlayer
from snoop_tui.errors import AudioUnavailable, RoomConnectError
from snoop_tui.platform import ListenerGrant
from snoop_tui.transcript import MAX_SEGMENT_CHARS, Role, Transcript, TranscriptSegment

log = logging.getLogger(__name__)

TRANSCRIPTION_TOPIC = "lk.transcription"
ATTR_SEGMENT_ID = "lk.segment_id"
ATTR_FINAL = "lk.transcription_final"
END_GRACE_SECONDS = 0.5
"""After the agent leaves, wait this long for in-flight transcript streams before leaving."""


class CallState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    LEFT = "left"


@dataclass(frozen=True)
class StateChanged:
    state: CallState
    reason: str | None = None


@dataclass(frozen=True)
class TranscriptUpdated:
    segment: TranscriptSegment


@dataclass(frozen=True)
class SpeakersChanged:
    active: frozenset[Role]


@dataclass(frozen=True)
class AudioChanged:
    listening: bool
    message: str | None = None
    """Why playback stopped on its own (a device that went away), for the panel."""


SessionEvent = StateChanged | TranscriptUpdated | SpeakersChanged | AudioChanged


def _device(name: str | None) -> int | str | None:
    """A device given as digits is an index, as `snoop-tui devices` lists them."""
    return int(name) if name is not None and name.isdigit() else name


def role_of(participant: rtc.Participant | None) -> Role:
    if participant is None:
        return Role.OTHER
    if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
        return Role.AGENT
    if participant.kind in (
        rtc.ParticipantKind.PARTICIPANT_KIND_SIP,
        rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD,
    ):
        return Role.CALLER
    return Role.OTHER


_END_REASONS = {
    rtc.DisconnectReason.ROOM_DELETED: "The call's room was closed.",
    rtc.DisconnectReason.ROOM_CLOSED: "The call's room was closed.",
    rtc.DisconnectReason.PARTICIPANT_REMOVED: "The platform removed this listener from the call.",
    rtc.DisconnectReason.SERVER_SHUTDOWN: "The call server shut down.",
    rtc.DisconnectReason.DUPLICATE_IDENTITY: "Another listener joined with the same identity.",
}


class ListenerSession:
    """One hidden, subscribe-only presence in a call's room."""

    def __init__(
        self,
        grant: ListenerGrant,
        *,
        on_event: Callable[[SessionEvent], None],
        output_device: str | None = None,
        connect_timeout: float = 15.0,
    ) -> None:
        self.grant = grant
        self.transcript = Transcript()
        self.state = CallState.CONNECTING
        self._on_event = on_event
        self._player = AudioPlayer(_device(output_device), on_fault=self.on_player_fault)
        self._connect_timeout = connect_timeout
        self._room = rtc.Room()
        self._tasks: set[asyncio.Task[None]] = set()
        self._audio_tasks: dict[str, asyncio.Task[None]] = {}
        self._audio_tracks: dict[str, rtc.RemoteAudioTrack] = {}
        self._listening = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def listening(self) -> bool:
        return self._listening

    @property
    def identity(self) -> str:
        return self._room.local_participant.identity if self._room.isconnected() else ""

    @property
    def player(self) -> AudioPlayer:
        return self._player

    # lifecycle ---------------------------------------------------------------

    async def connect(self) -> None:
        """Join the room; raise `RoomConnectError` with a supervisor-readable reason."""
        self._loop = asyncio.get_running_loop()
        self._emit(StateChanged(CallState.CONNECTING))
        self._wire_room_events()
        self._room.register_text_stream_handler(TRANSCRIPTION_TOPIC, self._on_text_stream)
        options = rtc.RoomOptions(auto_subscribe=True, connect_timeout=self._connect_timeout)
        try:
            await asyncio.wait_for(
                self._room.connect(self.grant.url, self.grant.token.reveal(), options),
                timeout=self._connect_timeout,
            )
        except (TimeoutError, rtc.ConnectError, OSError) as exc:
            await self._disconnect_quietly()
            raise RoomConnectError(self._connect_failure(exc)) from None
        for participant in self._room.remote_participants.values():
            for publication in participant.track_publications.values():
                if isinstance(publication.track, rtc.RemoteAudioTrack):
                    self._audio_tracks[publication.track.sid] = publication.track
        self._set_state(CallState.LIVE)

    def _connect_failure(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            return f"Could not join the call within {self._connect_timeout:g} s."
        detail = str(exc).replace(self.grant.token.reveal(), "[token]")
        if "401" in detail or "unauthorized" in detail.lower():
            return "The call server refused the listener token (it may have expired)."
        return f"Could not join the call: {detail[:200]}"

    async def stop(self) -> None:
        """Leave the room and stop playback. Idempotent."""
        await self.mute()
        await self._disconnect_quietly()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.state != CallState.LEFT:
            self._set_state(CallState.LEFT)

    async def _disconnect_quietly(self) -> None:
        with contextlib.suppress(Exception):
            await self._room.disconnect()

    # audio -------------------------------------------------------------------

    async def listen(self) -> None:
        """Start playing every remote audio track, mixed. Raises `AudioUnavailable`."""
        if self._listening or self.state in (CallState.ENDED, CallState.LEFT):
            return
        self._player.open()
        self._listening = True
        for track in list(self._audio_tracks.values()):
            self._start_audio(track)
        self._emit(AudioChanged(listening=True))

    async def mute(self) -> None:
        """Stop playing audio (and close the output stream). The transcript carries on."""
        if not self._listening:
            return
        self._listening = False
        await self._stop_audio_streams()
        self._player.close()
        self._emit(AudioChanged(listening=False))

    def on_player_fault(self, error: AudioUnavailable) -> None:
        """Called from PortAudio's thread when the output device goes away."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._spawn, self._audio_fault(error))

    async def _audio_fault(self, error: AudioUnavailable) -> None:
        if not self._listening:
            return
        self._listening = False
        await self._stop_audio_streams()
        self._player.close()
        self._emit(AudioChanged(listening=False, message=error.message))

    def _start_audio(self, track: rtc.RemoteAudioTrack) -> None:
        if track.sid not in self._audio_tasks:
            self._audio_tasks[track.sid] = asyncio.create_task(self._pump_audio(track))

    async def _pump_audio(self, track: rtc.RemoteAudioTrack) -> None:
        stream = rtc.AudioStream(track, sample_rate=self._player.sample_rate, num_channels=1)
        try:
            async for event in stream:
                self._player.push(track.sid, np.frombuffer(event.frame.data, dtype=np.int16))
        finally:
            await stream.aclose()
            self._player.remove_source(track.sid)

    async def _stop_audio_streams(self) -> None:
        tasks = list(self._audio_tasks.values())
        self._audio_tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # room events -------------------------------------------------------------

    def _wire_room_events(self) -> None:
        room = self._room
        room.on("track_subscribed", self._on_track_subscribed)
        room.on("track_unsubscribed", self._on_track_unsubscribed)
        room.on("participant_disconnected", self._on_participant_disconnected)
        room.on("active_speakers_changed", self._on_active_speakers)
        room.on("transcription_received", self._on_legacy_transcription)
        room.on("reconnecting", lambda: self._set_state(CallState.RECONNECTING))
        room.on("reconnected", lambda: self._set_state(CallState.LIVE))
        room.on("disconnected", self._on_disconnected)

    def _on_track_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if isinstance(track, rtc.RemoteAudioTrack):
            self._audio_tracks[track.sid] = track
            if self._listening:
                self._start_audio(track)

    def _on_track_unsubscribed(
        self,
        track: rtc.Track | None,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        sid = publication.sid
        self._audio_tracks.pop(sid, None)
        task = self._audio_tasks.pop(sid, None)
        if task is not None:
            task.cancel()

    def _on_participant_disconnected(self, participant: rtc.RemoteParticipant) -> None:
        if role_of(participant) is Role.AGENT and self.state in (
            CallState.LIVE,
            CallState.RECONNECTING,
        ):
            self._spawn(self._end("The agent left the call."))

    def _on_disconnected(self, reason: rtc.DisconnectReason.ValueType) -> None:
        if self.state in (CallState.LIVE, CallState.RECONNECTING):
            text = _END_REASONS.get(reason, "The connection to the call was lost.")
            self._spawn(self._end(text, leave=False))

    async def _end(self, reason: str, *, leave: bool = True) -> None:
        """The call is over: say why, stop audio, leave; the transcript stays."""
        self._set_state(CallState.ENDED, reason)
        await self.mute()
        if leave:
            await asyncio.sleep(END_GRACE_SECONDS)
            await self._disconnect_quietly()

    def _on_active_speakers(self, speakers: list[rtc.Participant]) -> None:
        self._emit(SpeakersChanged(frozenset(role_of(p) for p in speakers)))

    # transcript --------------------------------------------------------------

    def _participant(self, identity: str) -> rtc.RemoteParticipant | None:
        return self._room.remote_participants.get(identity)

    def _record(self, segment_id: str, identity: str, text: str, final: bool) -> None:
        participant = self._participant(identity)
        role = role_of(participant)
        speaker = role.label if role is not Role.OTHER else (identity or "Unknown speaker")
        segment = self.transcript.update(
            segment_id, role=role, speaker=speaker, text=text, final=final
        )
        if segment is not None:
            self._emit(TranscriptUpdated(segment))

    def _on_text_stream(self, reader: rtc.TextStreamReader, identity: str) -> None:
        self._spawn(self._read_text_stream(reader, identity))

    async def _read_text_stream(self, reader: rtc.TextStreamReader, identity: str) -> None:
        attributes = reader.info.attributes or {}
        segment_id = attributes.get(ATTR_SEGMENT_ID) or reader.info.stream_id
        text = ""
        try:
            async for chunk in reader:
                if len(text) <= MAX_SEGMENT_CHARS:
                    text += chunk
                    self._record(segment_id, identity, text, final=False)
        except rtc.StreamError:
            return  # what arrived stays as an interim version
        finally:
            reader.close()
        final = (reader.info.attributes or {}).get(ATTR_FINAL) == "true"
        self._record(segment_id, identity, text, final=final)

    def _on_legacy_transcription(
        self,
        segments: list[rtc.TranscriptionSegment],
        participant: rtc.Participant | None,
        publication: rtc.TrackPublication | None,
    ) -> None:
        identity = participant.identity if participant is not None else ""
        for segment in segments:
            self._record(segment.id, identity, segment.text, final=segment.final)

    # plumbing ----------------------------------------------------------------

    def _set_state(self, state: CallState, reason: str | None = None) -> None:
        if state == self.state and reason is None:
            return
        if self.state in (CallState.ENDED, CallState.LEFT) and state in (
            CallState.LIVE,
            CallState.RECONNECTING,
        ):
            return
        self.state = state
        self._emit(StateChanged(state, reason))

    def _emit(self, event: SessionEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # a faulty listener must not break the room's event loop
            log.exception("session event handler failed")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

"""The listener session: joins a call's LiveKit room as a hidden observer and reports events.

It owns the `rtc.Room` (a new one after each rejoin). SDK callbacks become a few
small, typed events handed to `on_event` on the asyncio loop; the UI (or a test)
decides what to do with them. The session never publishes: it has no code path
that creates a track, sends data or opens an input device.

Connection faults: the SDK resumes short outages itself (`reconnecting` then
`reconnected`). When it gives up, the session rejoins with a new room, asking the
platform for a fresh token first when the old one is past `expires_at`, until
`rejoin_deadline` runs out; only then does the call show as ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from livekit import rtc

from snoop_tui.audio import AudioPlayer
from snoop_tui.call_audio import CallAudio
from snoop_tui.errors import AudioUnavailable, RoomConnectError, SnoopError
from snoop_tui.events import (
    AudioChanged,
    CallState,
    SessionEvent,
    SpeakersChanged,
    StateChanged,
    TranscriptUpdated,
)
from snoop_tui.grants import check_listener_grant
from snoop_tui.liveness import StallWatch
from snoop_tui.platform import ListenerGrant
from snoop_tui.transcript import MAX_SEGMENT_CHARS, Role, Transcript

log = logging.getLogger(__name__)

TRANSCRIPTION_TOPIC = "lk.transcription"
ATTR_SEGMENT_ID = "lk.segment_id"
ATTR_FINAL = "lk.transcription_final"
END_GRACE_SECONDS = 0.5
"""After the agent leaves, wait this long for in-flight transcript streams before leaving."""
TOKEN_MARGIN = timedelta(seconds=10)
AGENT_RETURN_SECONDS = 10.0
"""An agent that drops out (rather than hanging up) gets this long to come back."""
"""A token this close to `expires_at` is treated as expired when rejoining."""

GrantSource = Callable[[], Awaitable[ListenerGrant]]

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


_FINAL_DISCONNECTS = {
    rtc.DisconnectReason.ROOM_DELETED: "The call's room was closed.",
    rtc.DisconnectReason.ROOM_CLOSED: "The call's room was closed.",
    rtc.DisconnectReason.PARTICIPANT_REMOVED: "The platform removed this listener from the call.",
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
        refresh_grant: GrantSource | None = None,
        rejoin_deadline: float = 60.0,
        allow_insecure_ws: bool = False,
    ) -> None:
        self.grant = grant
        self.transcript = Transcript()
        self.state = CallState.CONNECTING
        self.state_history: list[CallState] = [CallState.CONNECTING]
        """Every state the call went through, in order (short: one entry per transition)."""
        self.rejoins = 0
        self.rejoin_attempts = 0
        self._caller_identity: str | None = None
        self._on_event = on_event
        self._audio = CallAudio(output_device, self.on_player_fault)
        self._connect_timeout = connect_timeout
        self._refresh_grant = refresh_grant
        self._rejoin_deadline = rejoin_deadline
        self._allow_insecure_ws = allow_insecure_ws
        self._room = rtc.Room()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def listening(self) -> bool:
        return self._audio.playing

    @property
    def identity(self) -> str:
        return self._room.local_participant.identity if self._room.isconnected() else ""

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
        await self._join(self.grant)
        self._set_state(CallState.LIVE)
        watch = StallWatch(lambda: self._room, on_stall=self._stalled, on_resume=self._resumed)
        self._spawn(watch.run(lambda: self.state not in (CallState.ENDED, CallState.LEFT)))

    async def _join(self, grant: ListenerGrant) -> None:
        check_listener_grant(grant, allow_insecure=self._allow_insecure_ws)
        room = rtc.Room()
        self._room = room
        self._wire(room)
        options = rtc.RoomOptions(auto_subscribe=True, connect_timeout=self._connect_timeout)
        try:
            await asyncio.wait_for(
                room.connect(grant.url, grant.token.reveal(), options),
                timeout=self._connect_timeout,
            )
        except (TimeoutError, rtc.ConnectError, OSError) as exc:
            with contextlib.suppress(Exception):
                await room.disconnect()
            raise RoomConnectError(self._connect_failure(exc, grant)) from None
        self.grant = grant
        present = list(room.remote_participants.values())
        for participant in sorted(
            present, key=lambda p: p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_SIP
        ):
            self._role(participant)  # pin the caller: a SIP participant first
        for participant in present:
            for publication in participant.track_publications.values():
                if isinstance(publication.track, rtc.RemoteAudioTrack):
                    self._audio.add_track(publication.track, self._role(participant))

    def _connect_failure(self, exc: BaseException, grant: ListenerGrant) -> str:
        if isinstance(exc, TimeoutError):
            return f"Could not join the call within {self._connect_timeout:g} s."
        detail = str(exc).replace(grant.token.reveal(), "[token]")
        if "401" in detail or "unauthorized" in detail.lower():
            return "The call server refused the listener token (it may have expired)."
        return f"Could not join the call: {detail[:200]}"

    async def stop(self) -> None:
        """Leave the room and stop playback. Idempotent."""
        if self.state is not CallState.LEFT:
            self._set_state(CallState.LEFT)
        await self.mute()
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.gather(
            *(t for t in self._tasks if t is not asyncio.current_task()), return_exceptions=True
        )
        await self._leave_room()

    async def end(self, reason: str) -> None:
        """The call is over: say why, stop audio, leave; the transcript stays."""
        if self.state in (CallState.ENDED, CallState.LEFT):
            return
        self._set_state(CallState.ENDED, reason)
        await self.mute()
        await asyncio.sleep(END_GRACE_SECONDS)
        await self._leave_room()

    async def _leave_room(self) -> None:
        with contextlib.suppress(Exception):
            await self._room.disconnect()

    # rejoining ---------------------------------------------------------------

    async def _rejoin(self) -> None:
        """The SDK gave up on the room: join again (fresh token if needed) until the deadline."""
        self._set_state(CallState.RECONNECTING)
        await self._audio.forget_tracks()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._rejoin_deadline
        delay = 0.5
        while self.state is CallState.RECONNECTING and loop.time() < deadline:
            self.rejoin_attempts += 1
            try:
                await self._join(await self._fresh_grant())
            except SnoopError as error:
                log.info("rejoin failed: %s", error)
            else:
                self.rejoins += 1
                self._set_state(CallState.LIVE)
                return
            await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
            delay = min(delay * 2, 5.0)
        if self.state is CallState.RECONNECTING:
            await self.end("Lost the connection to the call and could not rejoin it.")

    async def _fresh_grant(self) -> ListenerGrant:
        if self.grant.expires_at - TOKEN_MARGIN > datetime.now(UTC) or self._refresh_grant is None:
            return self.grant
        log.info("listener token expired; asking the platform for a new one")
        return await self._refresh_grant()

    def _stalled(self) -> bool:
        if self.state is not CallState.LIVE:
            return False
        self._set_state(CallState.RECONNECTING)
        return True

    def _resumed(self) -> None:
        if self.state is CallState.RECONNECTING:
            self._set_state(CallState.LIVE)

    # audio -------------------------------------------------------------------

    async def listen(self) -> None:
        """Start playing every remote audio track, mixed. Raises `AudioUnavailable`."""
        if self.listening or self.state not in (CallState.LIVE, CallState.RECONNECTING):
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
        """Called from PortAudio's thread when the output device goes away."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._spawn, self._audio_fault(error))

    async def _audio_fault(self, error: AudioUnavailable) -> None:
        if self.listening:
            await self._audio.stop()
            self._emit_audio(error.message)

    # room events -------------------------------------------------------------

    def _wire(self, room: rtc.Room) -> None:
        """Subscribe to `room`'s events; events of a room we have replaced are ignored."""

        def current(handler: Callable[..., None]) -> Callable[..., None]:
            def guarded(*args: Any) -> None:
                if room is self._room:
                    handler(*args)

            return guarded

        room.register_text_stream_handler(TRANSCRIPTION_TOPIC, current(self._on_text_stream))
        room.on("track_subscribed", current(self._on_track_subscribed))
        room.on("track_unsubscribed", current(self._on_track_unsubscribed))
        room.on("participant_disconnected", current(self._on_participant_disconnected))
        room.on("active_speakers_changed", current(self._on_active_speakers))
        room.on("transcription_received", current(self._on_legacy_transcription))
        room.on("reconnecting", current(lambda: self._set_state(CallState.RECONNECTING)))
        room.on("reconnected", current(lambda: self._set_state(CallState.LIVE)))
        room.on("disconnected", current(self._on_disconnected))

    def _on_track_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if isinstance(track, rtc.RemoteAudioTrack):
            self._audio.add_track(track, self._role(participant))

    def _on_track_unsubscribed(
        self,
        track: rtc.Track | None,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        self._audio.remove_track(publication.sid)

    def _role(self, participant: rtc.Participant | None) -> Role:
        """The participant's role; of several callers only the first one seen is the caller."""
        role = role_of(participant)
        if role is not Role.CALLER or participant is None:
            return role
        if self._caller_identity is None:
            self._caller_identity = participant.identity
        return Role.CALLER if participant.identity == self._caller_identity else Role.OTHER

    def _on_participant_disconnected(self, participant: rtc.RemoteParticipant) -> None:
        if role_of(participant) is not Role.AGENT or self.state not in (
            CallState.LIVE,
            CallState.RECONNECTING,
        ):
            return
        if participant.disconnect_reason == rtc.DisconnectReason.CLIENT_INITIATED:
            self._spawn(self.end("The agent left the call."))
        else:  # dropped, not hung up (a server restart, say): it may well come back
            self._spawn(self._await_agent_return())

    async def _await_agent_return(self) -> None:
        """End the call if the agent stays away while our own connection is fine.

        While we are reconnecting ourselves, the agent's absence says nothing: the
        rejoin decides (and names the real reason if it fails)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + AGENT_RETURN_SECONDS
        while loop.time() < deadline:
            await asyncio.sleep(0.25)
            if self.state not in (CallState.LIVE, CallState.RECONNECTING):
                return
            if any(role_of(p) is Role.AGENT for p in self._room.remote_participants.values()):
                return
        if self.state is CallState.LIVE:
            await self.end("The agent dropped out of the call.")

    def _on_disconnected(self, reason: rtc.DisconnectReason.ValueType) -> None:
        if self.state not in (CallState.LIVE, CallState.RECONNECTING):
            return
        final = _FINAL_DISCONNECTS.get(reason)
        if final is not None:
            self._spawn(self.end(final))
        else:
            self._spawn(self._rejoin())

    def _on_active_speakers(self, speakers: list[rtc.Participant]) -> None:
        self._emit(SpeakersChanged(frozenset(self._role(p) for p in speakers)))

    # transcript --------------------------------------------------------------

    def _record(
        self,
        segment_id: str,
        identity: str,
        text: str,
        final: bool,
        spoken_at: float | None = None,
    ) -> None:
        role = self._role(self._room.remote_participants.get(identity))
        speaker = role.label if role is not Role.OTHER else (identity or "Unknown speaker")
        segment = self.transcript.update(
            segment_id,
            role=role,
            speaker=speaker,
            text=text,
            final=final,
            owner=identity,
            spoken_at=spoken_at,
        )
        if segment is not None:
            self._emit(TranscriptUpdated(segment))

    def _on_text_stream(self, reader: rtc.TextStreamReader, identity: str) -> None:
        self._spawn(self._read_text_stream(reader, identity))

    async def _read_text_stream(self, reader: rtc.TextStreamReader, identity: str) -> None:
        attributes = reader.info.attributes or {}
        segment_id = attributes.get(ATTR_SEGMENT_ID) or reader.info.stream_id
        spoken_at = float(reader.info.timestamp) or None  # the sender's clock, in ms
        text = ""
        try:
            async for chunk in reader:
                if len(text) <= MAX_SEGMENT_CHARS:
                    text += chunk
                    self._record(segment_id, identity, text, False, spoken_at)
        except rtc.StreamError:
            return  # what arrived stays as an interim version
        finally:
            reader.close()
        final = (reader.info.attributes or {}).get(ATTR_FINAL) == "true"
        self._record(segment_id, identity, text, final, spoken_at)

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
        if self.state in (CallState.ENDED, CallState.LEFT) and state is not CallState.LEFT:
            return
        self.state = state
        self.state_history.append(state)
        log.info("call state: %s%s", state.value, f" ({reason})" if reason else "")
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

"""The room's SDK events, each handed to the part of the call it concerns.

Audio tracks go to the call's audio, filed under their sender's role; transcription
goes to the reader; connection events and an agent's departure go to the lifecycle;
active speakers go out as an event. Only the session's current room is heard: a room
it has replaced (after a rejoin) may still call back, and is ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from livekit import rtc

from snoop_tui.call_audio import CallAudio
from snoop_tui.events import SpeakersChanged
from snoop_tui.lifecycle import CallLifecycle
from snoop_tui.roles import AGENT_STATE_ATTRIBUTE, CallRoster, is_agent
from snoop_tui.transcript import Role
from snoop_tui.transcription import TRANSCRIPTION_TOPIC, TranscriptionReader


class RoomEvents:
    """Subscribes the call's parts to a room's events."""

    def __init__(
        self,
        current_room: Callable[[], rtc.Room],
        *,
        roster: CallRoster,
        audio: CallAudio,
        transcription: TranscriptionReader,
        lifecycle: CallLifecycle,
        on_speakers: Callable[[SpeakersChanged], None],
    ) -> None:
        self._current_room = current_room
        self._roster = roster
        self._audio = audio
        self._transcription = transcription
        self._lifecycle = lifecycle
        self._on_speakers = on_speakers
        self._speaking: frozenset[Role] | None = None

    def wire(self, room: rtc.Room) -> None:
        """Subscribe to `room`'s events, before it connects so that none is missed."""
        self._speaking = None  # a new room: its first report is news

        def current(handler: Callable[..., None]) -> Callable[..., None]:
            def guarded(*args: Any) -> None:
                if room is self._current_room():
                    handler(*args)

            return guarded

        reader, lifecycle = self._transcription, self._lifecycle
        room.register_text_stream_handler(TRANSCRIPTION_TOPIC, current(reader.on_text_stream))
        room.on("transcription_received", current(reader.on_legacy_transcription))
        room.on("track_subscribed", current(self.on_track_subscribed))
        room.on("track_unsubscribed", current(self.on_track_unsubscribed))
        room.on("participant_attributes_changed", current(self.on_attributes_changed))
        room.on("participant_disconnected", current(self.on_participant_disconnected))
        room.on("active_speakers_changed", current(self.on_active_speakers))
        room.on("reconnecting", current(lifecycle.reconnecting))
        room.on("reconnected", current(lifecycle.reconnected))
        room.on("disconnected", current(lifecycle.room_lost))

    def file_audio_tracks(self, participant: rtc.RemoteParticipant) -> None:
        """Hand the participant's audio tracks to the call's audio under its current role."""
        role = self._roster.role(participant)
        for publication in participant.track_publications.values():
            if isinstance(publication.track, rtc.RemoteAudioTrack):
                self._audio.add_track(publication.track, role)

    def on_track_subscribed(
        self, track: rtc.Track, _: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        if isinstance(track, rtc.RemoteAudioTrack):
            self._audio.add_track(track, self._roster.role(participant))

    def on_track_unsubscribed(
        self, _: rtc.Track | None, publication: rtc.RemoteTrackPublication, *__: object
    ) -> None:
        self._audio.remove_track(publication.sid)

    def on_attributes_changed(self, changed: dict[str, str], participant: rtc.Participant) -> None:
        """An agent may announce itself (`lk.agent.state`) after its audio arrived: re-file it."""
        if AGENT_STATE_ATTRIBUTE in changed and isinstance(participant, rtc.RemoteParticipant):
            self.file_audio_tracks(participant)

    def on_participant_disconnected(self, participant: rtc.RemoteParticipant) -> None:
        """An agent left: by kind or by `lk.agent.state`, as the lifecycle counts those present."""
        if is_agent(participant):
            hung_up = participant.disconnect_reason == rtc.DisconnectReason.CLIENT_INITIATED
            self._lifecycle.agent_left(hung_up=hung_up)

    def on_active_speakers(self, speakers: list[rtc.Participant]) -> None:
        """Who is speaking, by role, when that changes. LiveKit also reports a change of
        order or of participant within a role (two agents, say): nothing to redraw then."""
        speaking = frozenset(self._roster.role(p) for p in speakers)
        if speaking != self._speaking:
            self._speaking = speaking
            self._on_speakers(SpeakersChanged(speaking))

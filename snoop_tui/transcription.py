"""Reads the room's transcription and turns it into transcript updates.

LiveKit Agents 1.x publish transcription as text streams on `lk.transcription`
(one stream per segment version, tagged with `lk.segment_id`, final when its
trailer says `lk.transcription_final: true`); older agents use the
`transcription_received` room event. Both end up as `Transcript.update` calls,
each change reported as a `TranscriptUpdated`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from livekit import rtc

from snoop_tui.events import TranscriptUpdated
from snoop_tui.transcript import MAX_SEGMENT_CHARS, Role, Transcript

TRANSCRIPTION_TOPIC = "lk.transcription"
ATTR_SEGMENT_ID = "lk.segment_id"
ATTR_FINAL = "lk.transcription_final"


def speaker_label(role: Role, identity: str) -> str:
    """Agent and Caller by role; anyone else by the identity they sent with, never a role."""
    if role is not Role.OTHER:
        return role.label
    return identity or "Unknown speaker"


class TranscriptionReader:
    """Assembles segments from the room's transcription and records them in `transcript`."""

    def __init__(
        self,
        transcript: Transcript,
        *,
        role_of_sender: Callable[[str], Role],
        on_update: Callable[[TranscriptUpdated], None],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self.transcript = transcript
        self._role_of_sender = role_of_sender
        self._on_update = on_update
        self._spawn = spawn  # the session's tasks: cancelled when it stops

    def on_text_stream(self, reader: rtc.TextStreamReader, identity: str) -> None:
        """The SDK's handler for a new stream on the transcription topic."""
        self._spawn(self.read_text_stream(reader, identity))

    async def read_text_stream(self, reader: rtc.TextStreamReader, identity: str) -> None:
        """Show a stream as it grows; final once its trailer says so.

        `identity` is the sender, or whom an agent speaks for (the caller's speech
        comes from the agent's connection on the caller's behalf)."""
        attributes = reader.info.attributes or {}
        segment_id = attributes.get(ATTR_SEGMENT_ID) or reader.info.stream_id
        spoken_at = float(reader.info.timestamp) or None  # the sender's clock, in ms
        text = ""
        try:
            async for chunk in reader:
                if len(text) <= MAX_SEGMENT_CHARS:
                    text += chunk
                    self.record(segment_id, identity, text, False, spoken_at)
        except rtc.StreamError:
            return  # what arrived stays as an interim version
        finally:
            reader.close()
        final = (reader.info.attributes or {}).get(ATTR_FINAL) == "true"
        self.record(segment_id, identity, text, final, spoken_at)

    def on_legacy_transcription(
        self,
        segments: list[rtc.TranscriptionSegment],
        participant: rtc.Participant | None,
        publication: rtc.TrackPublication | None,
    ) -> None:
        """The SDK's `transcription_received` event (agents before text streams)."""
        identity = participant.identity if participant is not None else ""
        for segment in segments:
            self.record(segment.id, identity, segment.text, final=segment.final)

    def record(
        self,
        segment_id: str,
        identity: str,
        text: str,
        final: bool,
        spoken_at: float | None = None,
    ) -> None:
        role = self._role_of_sender(identity)
        segment = self.transcript.update(
            segment_id,
            role=role,
            speaker=speaker_label(role, identity),
            text=text,
            final=final,
            owner=identity,
            spoken_at=spoken_at,
        )
        if segment is not None:
            self._on_update(TranscriptUpdated(segment))

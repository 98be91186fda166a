"""A participant that sends the transcription a broken or hostile sender might.

Used by the tests only (so it lives in tests/, not in the shipped demo): markup and terminal
escapes in the text, oversized segments, streams without attributes, streams aborted
half-way, floods of interim updates, text attributed to identities that are not in
the room, and binary payloads on the transcription topic. It joins the call's room as
its own participant (a third identity, neither agent nor caller). Other participants
learn of it only once it publishes a track (`publish_audio=True`: a silent one).
"""

from __future__ import annotations

import secrets
from types import TracebackType

from livekit import rtc

from snoop_tui.demo.call import SAMPLE_RATE, TRANSCRIPTION_TOPIC, Kind, participant_token

MARKUP_AND_ESCAPES = "[red]x[/red] [@click=app.quit]quit[/] \x1b]52;c;ZXZpbA==\x07 \x1b[2J"
"""Rich markup, a Textual action link, an OSC 52 clipboard write and a clear-screen."""
INVALID_UTF8 = b"\xff\xfe caf\xc3 \x80\x80 \xed\xa0\x80"


def segment_attributes(segment_id: str | None, final: bool) -> dict[str, str]:
    attributes = {"lk.transcription_final": "true" if final else "false"}
    if segment_id is not None:
        attributes["lk.segment_id"] = segment_id
    return attributes


class Mischief:
    """A third participant in a call's room that misbehaves on request."""

    def __init__(
        self,
        url: str,
        api_key: str,
        api_secret: str,
        room_name: str,
        *,
        identity: str | None = None,
        kind: Kind = "standard",
        publish_audio: bool = False,
    ) -> None:
        self.url = url
        self.room_name = room_name
        self.identity = identity or f"intruder-{secrets.token_hex(3)}"
        self._token = participant_token(
            api_key, api_secret, room_name, self.identity, "Intruder", kind
        )
        self._room = rtc.Room()
        self._publish_audio = publish_audio
        self._source: rtc.AudioSource | None = None

    async def __aenter__(self) -> Mischief:
        await self._room.connect(self.url, self._token, rtc.RoomOptions(auto_subscribe=False))
        if self._publish_audio:
            # Others learn of a participant once it publishes a track; a silent one will do.
            self._source = rtc.AudioSource(SAMPLE_RATE, 1)
            track = rtc.LocalAudioTrack.create_audio_track("intruder-microphone", self._source)
            options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
            await self._me.publish_track(track, options)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._room.disconnect()
        if self._source is not None:
            await self._source.aclose()

    @property
    def _me(self) -> rtc.LocalParticipant:
        return self._room.local_participant

    async def send(
        self,
        text: str,
        *,
        segment_id: str | None = None,
        final: bool = True,
        sender_identity: str | None = None,
    ) -> None:
        """One whole segment in one stream, as a well-behaved sender would (bar the text).

        LiveKit honours `sender_identity` (speaking on another's behalf) only from an
        agent-kind participant; from anyone else the receiver sees the real sender."""
        writer = await self._me.stream_text(
            topic=TRANSCRIPTION_TOPIC,
            attributes=segment_attributes(segment_id or self._new_id(), final),
            sender_identity=sender_identity,
        )
        await writer.write(text)
        await writer.aclose()

    async def send_without_attributes(self, text: str) -> None:
        """A stream with neither a segment id nor a final flag."""
        writer = await self._me.stream_text(topic=TRANSCRIPTION_TOPIC)
        await writer.write(text)
        await writer.aclose()

    async def send_aborted(self, text: str, *, segment_id: str) -> None:
        """Start a segment, send some text, then abort the stream (a trailer with a reason)."""
        writer = await self._me.stream_text(
            topic=TRANSCRIPTION_TOPIC, attributes=segment_attributes(segment_id, False)
        )
        await writer.write(text)
        await writer.aclose(reason="aborted by sender")

    async def flood(
        self, *, segment_id: str, updates: int, sender_identity: str | None = None
    ) -> str:
        """`updates` appended chunks in one stream as fast as they go; returns the whole text."""
        writer = await self._me.stream_text(
            topic=TRANSCRIPTION_TOPIC,
            attributes=segment_attributes(segment_id, False),
            sender_identity=sender_identity,
        )
        chunks = [f"{i % 100:02d} " for i in range(updates)]
        for chunk in chunks:
            await writer.write(chunk)
        await writer.aclose(attributes={"lk.transcription_final": "true"})
        return "".join(chunks)

    async def send_bytes_on_transcription_topic(self, data: bytes = INVALID_UTF8) -> None:
        """A byte stream (not a text stream) on the transcription topic."""
        writer = await self._me.stream_bytes(
            "transcript.bin", topic=TRANSCRIPTION_TOPIC, attributes=segment_attributes("BIN", True)
        )
        await writer.write(data)
        await writer.aclose()

    async def publish_raw(self, data: bytes = INVALID_UTF8) -> None:
        """A plain data packet on the transcription topic (not a stream at all)."""
        await self._me.publish_data(data, topic=TRANSCRIPTION_TOPIC)

    def _new_id(self) -> str:
        return f"MX_{secrets.token_hex(4)}"

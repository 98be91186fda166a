"""Transcription sent fast through the real path: a participant publishing `lk.transcription`.

The feeder joins the call's room as an agent-kind participant (LiveKit honours
`sender_identity` only from an agent) and publishes text streams exactly as LiveKit
Agents does (`lk.segment_id`, `lk.transcription_final`), speaking for the call's own
agent and caller, so the panel shows "Agent" and "Caller" lines. It never publishes a
track, so the panel does not see it as a participant.

- `final`: one whole final segment in one stream (open, one chunk, close).
- `finals`: many of them as fast as a few concurrent senders go (preloading).
- `InterimFlood`: a few open segments, each growing a chunk at a time (agent style:
  one stream per segment, every chunk an interim update), at a fixed total rate.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from types import TracebackType

from livekit import rtc

from snoop_tui.demo.call import TRANSCRIPTION_TOPIC, participant_token

WORDS = (
    "thanks for calling billing this is Ava how can I help my bill this month is almost "
    "twice what I usually pay can you confirm the account holder name and zip code I see "
    "a charge of one hundred eighty four dollars normally it is around ninety nothing "
    "changed at home the meter reading was estimated then corrected"
).split()


def sentence(n: int, words: int = 9) -> str:
    """Ordinary words, different for each n: one line of the panel at 100 columns."""
    return " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(words))


def attributes(segment_id: str, final: bool) -> dict[str, str]:
    return {"lk.segment_id": segment_id, "lk.transcription_final": "true" if final else "false"}


class Feeder:
    """A hidden-from-the-panel agent connection that speaks for the call's agent and caller."""

    def __init__(
        self,
        url: str,
        api_key: str,
        api_secret: str,
        room_name: str,
        speakers: Sequence[str],
    ) -> None:
        self.url = url
        self.speakers = tuple(speakers)
        self._token = participant_token(
            api_key, api_secret, room_name, f"bench-feeder-{room_name}", "Feeder", "agent"
        )
        self._room = rtc.Room()
        self._ids = itertools.count(1)

    async def __aenter__(self) -> Feeder:
        await self._room.connect(self.url, self._token, rtc.RoomOptions(auto_subscribe=False))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._room.disconnect()

    def new_id(self) -> str:
        return f"FD_{next(self._ids):06d}"

    async def final(self, text: str, speaker: str | None = None) -> float:
        """Send one final segment; returns the moment its sending began."""
        started = time.monotonic()
        writer = await self._room.local_participant.stream_text(
            topic=TRANSCRIPTION_TOPIC,
            attributes=attributes(self.new_id(), True),
            sender_identity=speaker or self.speakers[0],
        )
        await writer.write(text)
        await writer.aclose()
        return started

    async def finals(self, texts: Sequence[str], concurrency: int = 8) -> None:
        """Send all of `texts` as final segments, alternating speakers, `concurrency` at once."""
        queue = iter(enumerate(texts))

        async def sender() -> None:
            for n, text in queue:
                await self.final(text, self.speakers[n % len(self.speakers)])

        await asyncio.gather(*(sender() for _ in range(concurrency)))

    async def open_stream(self, speaker: str) -> rtc.TextStreamWriter:
        return await self._room.local_participant.stream_text(
            topic=TRANSCRIPTION_TOPIC,
            attributes=attributes(self.new_id(), False),
            sender_identity=speaker,
        )


class InterimFlood:
    """`rate` interim updates a second, spread over `slots` open segments that turn over.

    Each slot's segment grows by a word per update and closes as final after
    `per_segment` updates, when the slot starts a new one. The last update of all
    carries `end_marker`; then every open segment closes as final."""

    def __init__(
        self, feeder: Feeder, *, rate: float, slots: int = 5, per_segment: int = 40
    ) -> None:
        self.feeder = feeder
        self.rate = rate
        self.slots = slots
        self.per_segment = per_segment
        self.sent = 0

    async def run(self, seconds: float, end_marker: str) -> float:
        """Flood for `seconds`; returns when the last update (the marker) was sent."""
        writers: list[rtc.TextStreamWriter | None] = [None] * self.slots
        counts = [0] * self.slots
        speakers = self.feeder.speakers
        start = time.monotonic()
        total = int(seconds * self.rate)
        # Slots start staggered, so segments do not all close on the same tick.
        offsets = [k * self.per_segment // self.slots for k in range(self.slots)]
        for n in range(total):
            due = start + n / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            slot = n % self.slots
            writer = writers[slot]
            if writer is None:
                writer = await self.feeder.open_stream(speakers[slot % len(speakers)])
                writers[slot] = writer
                counts[slot] = offsets[slot] if n < self.slots else 0
            counts[slot] += 1
            await writer.write(f" {WORDS[(n * 5) % len(WORDS)]}")
            self.sent += 1
            if counts[slot] >= self.per_segment:
                await writer.aclose(attributes={"lk.transcription_final": "true"})
                writers[slot] = None
        slot = total % self.slots  # the last update: the next slot's segment, with the marker
        writer = writers[slot]
        if writer is None:
            writer = writers[slot] = await self.feeder.open_stream(speakers[slot % len(speakers)])
        delay = start + total / self.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        last = time.monotonic()
        await writer.write(f" {end_marker}")
        self.sent += 1
        for writer in writers:
            if writer is not None:
                await writer.aclose(attributes={"lk.transcription_final": "true"})
        return last

"""Reading transcription without a server: streams shown as they grow, final on the trailer,
and every segment labelled by who sent it, even when the sender has already left."""

from __future__ import annotations

from livekit import rtc

from snoop_tui.events import TranscriptUpdated
from snoop_tui.roles import CallRoster
from snoop_tui.transcript import Role, Transcript, TranscriptSegment
from snoop_tui.transcription import TranscriptionReader
from tests.session_fakes import FakeTextStream, agent, caller

SEGMENT = {"lk.segment_id": "SEG_1"}
FINAL = {"lk.transcription_final": "true"}


class Room:
    """Participants present, a roster over them, and the updates the panel would get."""

    def __init__(self, *present: rtc.RemoteParticipant) -> None:
        self.present = {p.identity: p for p in present}
        self.roster = CallRoster(lambda: self.present)
        self.roster.pin_caller(present)
        self.updates: list[TranscriptSegment] = []
        self.reader = TranscriptionReader(
            Transcript(),
            role_of_sender=self.roster.role_by_identity,
            on_update=self.shown,
            spawn=lambda coro: coro.close(),
        )

    def shown(self, update: TranscriptUpdated) -> None:
        self.updates.append(update.segment)

    def leaves(self, identity: str) -> None:
        del self.present[identity]

    async def receive(self, stream: FakeTextStream, identity: str) -> TranscriptSegment:
        await self.reader.read_text_stream(stream.reader(), identity)
        assert stream.closed, "a finished reader is always closed"
        return self.updates[-1]


async def test_a_stream_is_shown_as_it_grows_and_final_on_its_trailer() -> None:
    room = Room(agent("agent-1"))
    stream = FakeTextStream(["Thanks for ", "calling."], attributes=SEGMENT, trailer=FINAL)
    await room.receive(stream, "agent-1")
    assert [(s.text, s.final) for s in room.updates] == [
        ("Thanks for ", False),
        ("Thanks for calling.", False),
        ("Thanks for calling.", True),
    ]
    assert {(s.id, s.role, s.speaker) for s in room.updates} == {("SEG_1", Role.AGENT, "Agent")}


async def test_an_aborted_stream_stays_as_the_interim_text_that_arrived() -> None:
    room = Room(agent("agent-1"))
    stream = FakeTextStream(["cut off ", "mid"], attributes=SEGMENT, aborted=True)
    segment = await room.receive(stream, "agent-1")
    assert (segment.text, segment.final) == ("cut off mid", False)


async def test_the_agent_s_last_words_after_it_left_are_still_the_agent_s() -> None:
    room = Room(agent("agent-1"), caller("sip-1"))
    room.reader.record("SEG_0", "agent-1", "Hello.", final=True)  # seen while present
    room.leaves("agent-1")
    stream = FakeTextStream(["Goodbye."], attributes=SEGMENT, trailer=FINAL)
    segment = await room.receive(stream, "agent-1")
    assert (segment.role, segment.speaker, segment.final) == (Role.AGENT, "Agent", True)


async def test_caller_speech_sent_on_the_caller_s_behalf_is_the_caller_s() -> None:
    room = Room(agent("agent-1"), caller("sip-1"))
    stream = FakeTextStream(["My bill doubled."], attributes=SEGMENT, trailer=FINAL)
    segment = await room.receive(stream, "sip-1")
    assert (segment.role, segment.speaker) == (Role.CALLER, "Caller")


async def test_identities_that_were_never_in_the_room_are_named_not_given_a_role() -> None:
    room = Room(agent("agent-1"), caller("sip-1"))
    for identity, segment_id in (("ghost-99", "GHOST"), ("Agent", "SPOOF"), ("", "ANON")):
        attributes = {"lk.segment_id": segment_id}
        stream = FakeTextStream(["words"], attributes=attributes, trailer=FINAL)
        segment = await room.receive(stream, identity)
        assert segment.role is Role.OTHER and segment.final
        assert segment.speaker == (identity or "Unknown speaker")


async def test_a_stream_without_a_segment_id_is_its_own_segment() -> None:
    room = Room(agent("agent-1"))
    segment = await room.receive(FakeTextStream(["no id at all"]), "agent-1")
    assert (segment.id, segment.text, segment.final) == ("stream-1", "no id at all", False)


def test_legacy_transcription_events_update_the_transcript() -> None:
    room = Room(agent("agent-1"))
    segments = [
        rtc.TranscriptionSegment(
            id="L1", text="Hello", start_time=0, end_time=0, language="en", final=False
        ),
        rtc.TranscriptionSegment(
            id="L1", text="Hello there.", start_time=0, end_time=0, language="en", final=True
        ),
    ]
    room.reader.on_legacy_transcription(segments, room.present["agent-1"], None)
    assert [(s.text, s.final, s.role) for s in room.updates] == [
        ("Hello", False, Role.AGENT),
        ("Hello there.", True, Role.AGENT),
    ]

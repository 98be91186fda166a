"""A simulated support call, published into a LiveKit room the way LiveKit Agents does it.

Two real participants join one room, each over its own connection and JWT: the agent
(participant kind "agent") and the caller (kind "sip"). Each publishes a microphone track
with a recognisable tone (agent 440 Hz, caller 660 Hz) shaped like syllables, audible
only while that side speaks its turn. Transcripts go out as text streams on the topic
`lk.transcription`: agent speech as one stream per segment written in word chunks, and
caller speech as whole-text interim streams followed by one final stream, sent by the
agent's connection on the caller's behalf (LiveKit Agents 1.x does exactly this).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from livekit import api, rtc

from snoop_tui.demo.livekit_server import add_api_secret_option, exit_within, starter_alive
from snoop_tui.forked import run_then_exit

Role = Literal["agent", "caller"]
Kind = Literal["agent", "sip", "standard"]
TRANSCRIPTION_TOPIC = "lk.transcription"
SEGMENT_ID = "lk.segment_id"
FINAL = "lk.transcription_final"
SAMPLE_RATE = 48000
FRAME_SAMPLES = SAMPLE_RATE // 100  # 10 ms
TONE_HZ: dict[Role, float] = {"agent": 440.0, "caller": 660.0}
SYLLABLE_HZ = 4.0
AMPLITUDE = 0.3 * 32767
# A short native queue keeps the audio within ~0.1 s of the transcript it belongs to.
AUDIO_QUEUE_MS = 100
_NEVER_CLOSED: list[rtc.AudioSource] = []
"""Sources whose last capture did not finish at teardown: closing (or collecting) one
then would make LiveKit's FFI abort the process, so they live as long as it does."""
CALLER_WORDS_PER_INTERIM = 2


@dataclass(frozen=True)
class Turn:
    """One thing one side says."""

    role: Role
    text: str


WATCHED_TOPICS = (TRANSCRIPTION_TOPIC, "lk.chat", "")
"""Stream topics on which each side records who sent it something (no handler, no record)."""


@dataclass(frozen=True)
class Received:
    """Something one side of the call received from another participant."""

    role: Role
    what: Literal["data", "text_stream", "byte_stream"]
    sender: str
    topic: str


@dataclass(frozen=True)
class PublishedSegment:
    """A final transcript segment as it was published."""

    segment_id: str
    role: Role
    text: str


DEFAULT_SCRIPT: tuple[Turn, ...] = (
    Turn("agent", "Thanks for calling Northwind Energy billing, this is Ava. How can I help?"),
    Turn("caller", "Hi, my bill this month is almost twice what I usually pay."),
    Turn("agent", "I'm sorry about that. Can you confirm the account holder's name and zip?"),
    Turn("caller", "Sure, it's Dana Whitfield, nine four one one zero."),
    Turn("agent", "Thank you, Dana. I see a charge of one hundred eighty-four dollars."),
    Turn("caller", "Right, normally it's around ninety. Nothing changed at home."),
    Turn("agent", "It looks like last month's meter reading was estimated, then corrected."),
    Turn("caller", "So I'm paying for two months at once? Can I spread that out?"),
    Turn("agent", "Yes, I can split the correction over three bills at no extra cost."),
    Turn("caller", "That would help a lot, please do that."),
    Turn("agent", "Done. You'll get a confirmation email today. Anything else I can help with?"),
    Turn("caller", "No, that's everything. Thank you so much."),
)


TECH_SCRIPT: tuple[Turn, ...] = (
    Turn("agent", "Tech support, this is Sam. What seems to be the trouble today?"),
    Turn("caller", "My internet keeps dropping every few minutes since this morning."),
    Turn("agent", "Sorry to hear that. Are the lights on your router steady or blinking?"),
    Turn("caller", "The one marked online is blinking orange."),
    Turn("agent", "Thanks. I'm sending a reset signal to your router now, it takes a minute."),
    Turn("caller", "Okay, it went dark and now it's coming back up."),
    Turn("agent", "The line looks stable from here. Can you try loading a page?"),
    Turn("caller", "Yes, that works, and it's much faster than before."),
)
RETENTION_SCRIPT: tuple[Turn, ...] = (
    Turn("agent", "Hello, this is Jordan from the accounts team. You asked to cancel?"),
    Turn("caller", "Yes, I found a cheaper plan with another provider."),
    Turn("agent", "I understand. May I ask what they are offering you per month?"),
    Turn("caller", "Forty dollars for the same speed, with no contract."),
    Turn("agent", "I can match that and add three months of premium support for free."),
    Turn("caller", "Really? Then I'd rather stay, switching is a hassle anyway."),
    Turn("agent", "Great, I've applied the new rate from your next bill."),
    Turn("caller", "Perfect, thanks for sorting that out so quickly."),
)
SCHEDULING_SCRIPT: tuple[Turn, ...] = (
    Turn("agent", "Good afternoon, Lakeside Dental scheduling. How can I help?"),
    Turn("caller", "Hi, I need to move my cleaning appointment on Thursday."),
    Turn("agent", "Of course. I have Monday at ten or Wednesday at three."),
    Turn("caller", "Wednesday at three works better for me."),
    Turn("agent", "You're booked for Wednesday at three. You'll get a text reminder."),
    Turn("caller", "Thank you, see you then."),
)
SCRIPTS: Mapping[str, tuple[Turn, ...]] = {
    "billing": DEFAULT_SCRIPT,
    "tech": TECH_SCRIPT,
    "retention": RETENTION_SCRIPT,
    "scheduling": SCHEDULING_SCRIPT,
}
"""The demo's conversations, by name (`--script`): one per agent on the call board."""


def tone_frame(
    role: Role, first_sample: int, speaking: bool, hz: float | None = None
) -> rtc.AudioFrame:
    """Ten milliseconds of a role's syllable-shaped tone (`hz`, default TONE_HZ), or silence."""
    if not speaking:
        return rtc.AudioFrame.create(SAMPLE_RATE, 1, FRAME_SAMPLES)
    t = (first_sample + np.arange(FRAME_SAMPLES)) / SAMPLE_RATE
    envelope = 0.5 * (1.0 - np.cos(2.0 * math.pi * SYLLABLE_HZ * t))
    wave = AMPLITUDE * (0.15 + 0.85 * envelope) * np.sin(2.0 * math.pi * (hz or TONE_HZ[role]) * t)
    samples = wave.astype(np.int16)
    return rtc.AudioFrame(samples.tobytes(), SAMPLE_RATE, 1, FRAME_SAMPLES)


def participant_token(
    api_key: str, api_secret: str, room_name: str, identity: str, name: str, kind: Kind
) -> str:
    """A JWT for one side of the call: joins, publishes audio and data."""
    grants = api.VideoGrants(room_join=True, room=room_name)
    return (
        api.AccessToken(api_key, api_secret)
        .with_identity(identity)
        .with_name(name)
        .with_kind(kind)
        .with_grants(grants)
        .to_jwt()
    )


class SimulatedCall:
    """An agent and a caller talking through a script in one LiveKit room."""

    def __init__(
        self,
        url: str,
        api_key: str,
        api_secret: str,
        room_name: str,
        script: Sequence[Turn] = DEFAULT_SCRIPT,
        *,
        loops: int | None = 1,
        words_per_second: float = 4.0,
        pause_between_turns: float = 0.6,
        continuous_audio: bool = False,
        end_by_agent_leaving: bool = True,
        caller_identity: str = "sip_+15550100",
        caller_leave_delay: float = 0.5,
        hang_up_after: float = 1.0,
        script_gate: asyncio.Event | None = None,
        resilient: bool = False,
        agent_name: str = "Agent",
        tones: Mapping[Role, float] | None = None,
    ) -> None:
        self.url = url
        self.room_name = room_name
        self.script = tuple(script)
        self.loops = loops
        self.words_per_second = words_per_second
        self.pause_between_turns = pause_between_turns
        self.continuous_audio = continuous_audio
        self.end_by_agent_leaving = end_by_agent_leaving
        self.caller_leave_delay = caller_leave_delay
        self.hang_up_after = hang_up_after
        self.script_gate = script_gate
        self.resilient = resilient
        """Survive a call-server outage: say an interrupted turn again once reconnected."""
        self.agent_name = agent_name
        self.tones: dict[Role, float] = {**TONE_HZ, **(tones or {})}
        self.agent_identity = f"agent-{room_name}"
        self.caller_identity = caller_identity
        self._api_key = api_key
        self._api_secret = api_secret

        self.published_finals: list[PublishedSegment] = []
        self.seen_participants: list[str] = []
        self.received: list[Received] = []
        """Every data packet and watched-topic stream the agent and caller received."""
        self.delivered_finals: list[str] = []
        """The final segments the caller's side received, in order: what crossed the server
        (after an outage, what the agent sent is not always what arrived)."""
        self._reading: set[asyncio.Task[None]] = set()
        self.started = asyncio.Event()
        self.agent_left = asyncio.Event()
        self.finished = asyncio.Event()

        self._stopping = asyncio.Event()
        self._speaking: dict[Role, bool] = {"agent": False, "caller": False}
        self._rooms: dict[Role, rtc.Room] = {}
        self._sources: dict[Role, rtc.AudioSource] = {}
        self._track_sids: dict[Role, str] = {}
        self._players: dict[asyncio.Task[None], rtc.AudioSource] = {}
        """Each audio task and the source it captures into."""
        self._audio_done = False
        self._segment_counter = 0
        self._epoch = 0  # bumped whenever the agent's connection is disturbed
        self._last_final: tuple[Turn, str] | None = None

    # -- lifecycle -------------------------------------------------------------------

    async def run(self) -> None:
        """Join, talk through the script `loops` times, end the call, and clean up."""
        try:
            await self._join("agent", self.agent_name, "agent")
            await self._join("caller", "Caller", "sip")
            self.started.set()
            if self.script_gate is not None:
                await self._wait_or_stop(self.script_gate)
            await self._talk()
            if self.end_by_agent_leaving and not self._stopping.is_set():
                # A real agent hangs up a moment after its last words; leaving at once
                # can drop the last stream, still queued on this side, with the connection.
                await self._sleep(self.hang_up_after)
                await self.leave_agent()
                await self._sleep(self.caller_leave_delay)
            else:
                await self._stopping.wait()
        finally:
            await self._teardown()

    def request_stop(self) -> None:
        """Ask a running call to end soon (safe from a signal handler)."""
        self._stopping.set()

    async def stop(self) -> None:
        """End the call now and wait until both participants have left."""
        self.request_stop()
        if self._rooms or self.started.is_set():
            await self.finished.wait()

    async def leave_agent(self) -> None:
        """The agent disconnects, which is how the platform sees a call end."""
        if self.agent_left.is_set():
            return
        self.agent_left.set()
        self._speaking["agent"] = False
        room = self._rooms.get("agent")
        if room is not None:
            await room.disconnect()

    # -- joining and audio -----------------------------------------------------------

    async def _join(self, role: Role, name: str, kind: Kind) -> None:
        identity = self.agent_identity if role == "agent" else self.caller_identity
        token = participant_token(
            self._api_key, self._api_secret, self.room_name, identity, name, kind
        )
        room = rtc.Room()
        room.on("participant_connected", self._on_participant_connected)
        self._record_received(role, room)
        if role == "agent":
            for event in ("reconnecting", "disconnected", "reconnected"):
                room.on(event, self._bump_epoch)
        self._rooms[role] = room
        await room.connect(self.url, token, rtc.RoomOptions(auto_subscribe=False))
        source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=AUDIO_QUEUE_MS)
        self._sources[role] = source
        track = rtc.LocalAudioTrack.create_audio_track(f"{role}-microphone", source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        publication = await room.local_participant.publish_track(track, options)
        self._track_sids[role] = publication.sid
        self._players[asyncio.create_task(self._play(role, source))] = source

    def _bump_epoch(self, *_args: object) -> None:
        self._epoch += 1

    def _on_participant_connected(self, participant: rtc.RemoteParticipant) -> None:
        self.seen_participants.append(participant.identity)

    def _record_received(self, role: Role, room: rtc.Room) -> None:
        """Note the sender of every data packet and stream this side gets, then drop it."""

        def on_data(packet: rtc.DataPacket) -> None:
            sender = packet.participant.identity if packet.participant is not None else ""
            self.received.append(Received(role, "data", sender, packet.topic or ""))

        def on_text(reader: rtc.TextStreamReader, sender: str) -> None:
            self.received.append(Received(role, "text_stream", sender, reader.info.topic))
            if role == "caller" and reader.info.topic == TRANSCRIPTION_TOPIC:
                task = asyncio.ensure_future(self._note_delivered(reader))
                self._reading.add(task)
                task.add_done_callback(self._reading.discard)
            else:
                reader.close()

        def on_bytes(reader: rtc.ByteStreamReader, sender: str) -> None:
            self.received.append(Received(role, "byte_stream", sender, reader.info.topic))
            reader.close()

        room.on("data_received", on_data)
        for topic in WATCHED_TOPICS:
            room.register_text_stream_handler(topic, on_text)
            room.register_byte_stream_handler(topic, on_bytes)

    async def _note_delivered(self, reader: rtc.TextStreamReader) -> None:
        """Read a transcription stream to its end; note its segment if it ended final."""
        segment_id = (reader.info.attributes or {}).get(SEGMENT_ID, "")
        with contextlib.suppress(Exception):  # a stream cut short by an outage is not final
            await reader.read_all()
            final = (reader.info.attributes or {}).get(FINAL) == "true"
            if final and segment_id and segment_id not in self.delivered_finals:
                self.delivered_finals.append(segment_id)

    async def _play(self, role: Role, source: rtc.AudioSource) -> None:
        sample = 0
        while not self._audio_done and self._sources.get(role) is source:  # until replaced
            speaking = self.continuous_audio or self._speaking[role]
            await source.capture_frame(tone_frame(role, sample, speaking, self.tones[role]))
            sample += FRAME_SAMPLES

    async def _teardown(self) -> None:
        # A source must not be closed while a capture is in flight on the native side:
        # LiveKit's FFI then panics and aborts the whole process ("Fatal Python error:
        # Aborted" in `AudioSource.aclose`, seen under load). Clearing its queue lets a
        # capture that waits for room finish at once; a source whose capture still has
        # not finished is kept, never closed, for as long as this process lives.
        self._audio_done = True
        for source in self._sources.values():
            with contextlib.suppress(Exception):
                source.clear_queue()
        late: set[asyncio.Task[None]] = set()
        if self._players:
            _, late = await asyncio.wait(self._players, timeout=5.0)
        busy = [self._players[task] for task in late]
        _NEVER_CLOSED.extend(busy)
        for task in late:
            task.cancel()
        await asyncio.gather(*self._players, return_exceptions=True)
        self._players.clear()
        self.agent_left.set()
        for role in ("agent", "caller"):
            room = self._rooms.pop(role, None)
            if room is not None:
                await room.disconnect()
        for source in self._sources.values():
            if all(source is not kept for kept in busy):
                await source.aclose()
        self._sources.clear()
        self.finished.set()

    # -- the conversation ------------------------------------------------------------

    async def _talk(self) -> None:
        loop_number = 0
        while self.loops is None or loop_number < self.loops:
            for index, turn in enumerate(self.script):
                if self._halted():
                    return
                if loop_number or index:
                    await self._sleep(self.pause_between_turns)
                if not await self._say(turn, self._next_segment_id()):
                    return
            loop_number += 1

    async def _say(self, turn: Turn, segment_id: str) -> bool:
        """Speak one turn; False when the call was halted. Resilient calls retry outages."""
        while True:
            epoch = self._epoch
            try:
                if turn.role == "agent":
                    completed = await self._agent_turn(turn.text, segment_id)
                else:
                    completed = await self._caller_turn(turn.text, segment_id)
            except Exception:
                if self._halted():
                    return False  # the agent left mid-sentence; its connection is gone
                if not self.resilient:
                    raise
                completed = False
            if self._halted():
                return False
            if completed and (not self.resilient or epoch == self._epoch):
                self.published_finals.append(PublishedSegment(segment_id, turn.role, turn.text))
                self._last_final = (turn, segment_id)
                return True
            await self._await_reconnected()
            if self._last_final is not None:  # it may have died with the old connection
                await self._resend_final(*self._last_final)

    async def _await_reconnected(self, timeout: float = 60.0, settle: float = 2.0) -> None:
        """Wait until the agent is connected again, then a moment for listeners to rejoin."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._rooms["agent"].isconnected() and loop.time() < deadline:
            if self._rooms["agent"].connection_state == rtc.ConnectionState.CONN_DISCONNECTED:
                with contextlib.suppress(Exception):
                    await self._rejoin()  # the SDK gave up: join again, as a real agent would
            if await self._sleep(0.5):
                return
        await self._sleep(settle)

    async def _rejoin(self) -> None:
        for room in self._rooms.values():
            with contextlib.suppress(Exception):
                await room.disconnect()
        await self._join("agent", self.agent_name, "agent")
        await self._join("caller", "Caller", "sip")

    async def _resend_final(self, turn: Turn, segment_id: str) -> None:
        """Send a finished segment again, whole and final; listeners keep one copy."""
        with contextlib.suppress(Exception):
            if turn.role == "caller":
                await self._send_caller_text(segment_id, turn.text, True)
                return
            publisher = self._rooms["agent"].local_participant
            writer = await publisher.stream_text(
                topic=TRANSCRIPTION_TOPIC, attributes=self._attributes(segment_id, "agent", True)
            )
            await writer.write(turn.text)
            await writer.aclose()

    def _next_segment_id(self) -> str:
        self._segment_counter += 1
        return f"SG_{self._segment_counter:04d}"

    def _attributes(self, segment_id: str, role: Role, final: bool) -> dict[str, str]:
        return {
            SEGMENT_ID: segment_id,
            FINAL: "true" if final else "false",
            "lk.transcribed_track_id": self._track_sids[role],
        }

    async def _agent_turn(self, text: str, segment_id: str) -> bool:
        """One stream for the segment, appended word by word, closed as final."""
        publisher = self._rooms["agent"].local_participant
        writer = await publisher.stream_text(
            topic=TRANSCRIPTION_TOPIC, attributes=self._attributes(segment_id, "agent", False)
        )
        self._speaking["agent"] = True
        try:
            for index, word in enumerate(text.split()):
                await writer.write(word if index == 0 else f" {word}")
                if await self._sleep(1.0 / self.words_per_second):
                    await writer.aclose()
                    return False
        finally:
            self._speaking["agent"] = False
        final = self._attributes(segment_id, "agent", True)
        del final[SEGMENT_ID]
        await writer.aclose(attributes=final)
        return True

    async def _caller_turn(self, text: str, segment_id: str) -> bool:
        """Whole-text interim streams as the caller speaks, then one final stream."""
        words = text.split()
        self._speaking["caller"] = True
        try:
            for count in range(1, len(words) + 1):
                if await self._sleep(1.0 / self.words_per_second):
                    return False
                if count % CALLER_WORDS_PER_INTERIM == 0 and count < len(words):
                    await self._send_caller_text(segment_id, " ".join(words[:count]), False)
        finally:
            self._speaking["caller"] = False
        await self._send_caller_text(segment_id, text, True)
        return True

    async def _send_caller_text(self, segment_id: str, text: str, final: bool) -> None:
        publisher = self._rooms["agent"].local_participant
        writer = await publisher.stream_text(
            topic=TRANSCRIPTION_TOPIC,
            attributes=self._attributes(segment_id, "caller", final),
            sender_identity=self.caller_identity,
        )
        await writer.write(text)
        await writer.aclose()

    # -- waiting that ends early when the call is stopped ----------------------------

    def _halted(self) -> bool:
        return self._stopping.is_set() or self.agent_left.is_set()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, returning True early if the call is being stopped."""
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=max(seconds, 0.0))
            return True
        except TimeoutError:
            return self._halted()

    async def _wait_or_stop(self, event: asyncio.Event) -> None:
        waiters = {
            asyncio.ensure_future(event.wait()),
            asyncio.ensure_future(self._stopping.wait()),
        }
        _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def wait_for_listener(
    url: str, api_key: str, api_secret: str, room: str, gate: asyncio.Event, timeout: float
) -> None:
    """Open `gate` once a hidden participant (a listener) is in `room`, or after `timeout`.

    The demo's call waits for the panel, so the supervisor sees it from the first word."""
    http_url = "http" + url.removeprefix("ws")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with api.LiveKitAPI(http_url, api_key, api_secret) as lk:
        while loop.time() < deadline:
            with contextlib.suppress(api.TwirpError, OSError):
                listing = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
                if any(p.permission.hidden for p in listing.participants):
                    break
            await asyncio.sleep(0.1)
    gate.set()


async def _answer_after(call: SimulatedCall, gate: asyncio.Event, seconds: float) -> None:
    """A ringing call: both sides are in the room; talk starts `seconds` after joining."""
    await call.started.wait()
    await asyncio.sleep(seconds)
    gate.set()


async def _announce_talking(gate: asyncio.Event) -> None:
    await gate.wait()
    print("call talking", flush=True)


async def _end_after(call: SimulatedCall, gate: asyncio.Event | None, seconds: float) -> None:
    """The agent leaves `seconds` after joining, which is how the platform sees a call end."""
    await call.started.wait()
    await asyncio.sleep(seconds)
    await call.leave_agent()
    if gate is not None:
        gate.set()  # a call still ringing ends too


def _stop_soon(call: SimulatedCall) -> None:
    """A stop signal: end the call in order, but within `STOP_GRACE` seconds at most."""
    exit_within()
    call.request_stop()


async def _run_from_args(args: argparse.Namespace) -> None:
    gated = args.wait_for_listener > 0 or args.start_after > 0
    gate = asyncio.Event() if gated else None
    call = SimulatedCall(
        args.url,
        args.api_key,
        args.api_secret,
        args.room,
        SCRIPTS[args.script],
        loops=None if args.forever else args.loops,
        words_per_second=args.wps,
        continuous_audio=args.continuous_audio,
        caller_identity=args.caller_identity,
        script_gate=gate,
        resilient=args.resilient,
        agent_name=args.agent_name,
        tones={"agent": args.agent_hz, "caller": args.caller_hz},
    )
    helpers: list[asyncio.Task[None]] = []
    if args.wait_for_listener > 0 and gate is not None:
        helpers.append(
            asyncio.create_task(
                wait_for_listener(
                    args.url, args.api_key, args.api_secret, args.room, gate, args.wait_for_listener
                )
            )
        )
    if args.start_after > 0 and gate is not None:
        helpers.append(asyncio.create_task(_answer_after(call, gate, args.start_after)))
    if gate is not None:
        helpers.append(asyncio.create_task(_announce_talking(gate)))
    if args.end_after is not None:
        helpers.append(asyncio.create_task(_end_after(call, gate, args.end_after)))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(signum, _stop_soon, call)
    runner = asyncio.create_task(call.run())
    started = asyncio.create_task(call.started.wait())
    await asyncio.wait({runner, started}, return_when=asyncio.FIRST_COMPLETED)
    if call.started.is_set():
        print(f"call running in room {args.room}", flush=True)
    started.cancel()
    await runner
    for helper in helpers:
        helper.cancel()
    if args.finals_file:
        with open(args.finals_file, "w", encoding="utf-8") as out:
            for segment in call.published_finals:
                print(json.dumps({"id": segment.segment_id, "role": segment.role}), file=out)
    print("call ended", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m snoop_tui.demo.call",
        description="Play a simulated support call into a LiveKit room.",
    )
    parser.add_argument("--url", required=True, help="LiveKit ws:// URL")
    parser.add_argument("--api-key", required=True)
    add_api_secret_option(parser)
    parser.add_argument("--room", required=True, help="room name")
    repeat = parser.add_mutually_exclusive_group()
    repeat.add_argument("--loops", type=int, default=1, help="times to play the script")
    repeat.add_argument("--forever", action="store_true", help="repeat the script until stopped")
    parser.add_argument("--wps", type=float, default=4.0, help="words per second")
    parser.add_argument("--continuous-audio", action="store_true", help="both sides always sound")
    parser.add_argument(
        "--wait-for-listener",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="start talking once a hidden listener has joined (or after SECONDS)",
    )
    parser.add_argument(
        "--resilient",
        action="store_true",
        help="after a call-server outage, say an interrupted turn again",
    )
    parser.add_argument("--finals-file", help="at the end, write the final segments published")
    parser.add_argument("--script", choices=sorted(SCRIPTS), default="billing", help="what is said")
    parser.add_argument("--agent-name", default="Agent", help="the agent participant's name")
    parser.add_argument("--caller-identity", default="sip_+15550100", help="the caller's identity")
    parser.add_argument("--agent-hz", type=float, default=TONE_HZ["agent"], help="agent's tone")
    parser.add_argument("--caller-hz", type=float, default=TONE_HZ["caller"], help="caller's tone")
    parser.add_argument(
        "--start-after",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="join now, start talking SECONDS later (a ringing call, then answered)",
    )
    parser.add_argument(
        "--end-after",
        type=float,
        metavar="SECONDS",
        help="the agent leaves SECONDS after joining, which ends the call",
    )
    args = parser.parse_args(argv)
    if not starter_alive():  # the stack that started us is gone: nobody to talk to
        return 1
    asyncio.run(_run_from_args(args))
    return 0


if __name__ == "__main__":
    # Once the call has ended, the process ends at once: LiveKit's exit handler tears its
    # native runtime down around WebRTC's threads, and a callback of theirs can panic
    # across the C boundary and abort the process (seen once: SIGABRT after "call ended").
    run_then_exit(main)

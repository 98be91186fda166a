"""`snoop-tui tail` without a call: its lines, its waiting for the start time, its endings.

The tail follows a `CallLink`; here a scripted one plays the events a call process
sends, so each rule is checked in milliseconds. tests/test_tail_stack.py runs the
real command on the real local stack.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from snoop_tui.errors import ConversationNotFound
from snoop_tui.events import (
    CallContext,
    CallEvent,
    CallFailed,
    CallState,
    HistoryLine,
    Notice,
    RoomAssigned,
    StateChanged,
    TranscriptUpdated,
)
from snoop_tui.link import EventSink
from snoop_tui.tail import Tail, TailFormat
from snoop_tui.transcript import Role, TranscriptSegment

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def seg(
    sid: str,
    text: str,
    seconds: float,
    *,
    role: Role = Role.CALLER,
    final: bool = True,
    speaker: str = "Caller",
) -> TranscriptUpdated:
    spoken = (START.timestamp() + seconds) * 1000
    return TranscriptUpdated(TranscriptSegment(sid, role, speaker, text, final, 0, spoken, "a"))


class ScriptedCall:
    """A `CallLink` that plays `events` (a float is a pause, in seconds) once started."""

    def __init__(self, events: Sequence[CallEvent | float]) -> None:
        self.events = list(events)
        self.stopped = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self, on_event: EventSink) -> None:
        self._task = asyncio.create_task(self._play(on_event))

    async def _play(self, on_event: EventSink) -> None:
        for event in self.events:
            if isinstance(event, float):
                await asyncio.sleep(event)
            else:
                on_event(event)

    async def stop(self) -> None:
        self.stopped += 1
        if self._task is not None:
            self._task.cancel()

    async def listen(self) -> None: ...
    async def mute(self) -> None: ...
    async def cycle_focus(self) -> None: ...
    async def change_volume(self, steps: int) -> None: ...
    async def watch_health(self, on: bool) -> None: ...


async def tail(
    events: Sequence[CallEvent | float],
    *,
    context_wait: float = 0.3,
    as_json: bool = False,
    interim: bool = False,
) -> tuple[int, list[str], str, ScriptedCall]:
    call = ScriptedCall(events)
    out, err = io.StringIO(), io.StringIO()
    formatter = TailFormat(as_json=as_json, interim=interim)
    code = await Tail(call, formatter, out, err, context_wait=context_wait).run()
    return code, out.getvalue().splitlines(), err.getvalue(), call


LIVE = StateChanged(CallState.LIVE)
ENDED = StateChanged(CallState.ENDED, "The agent left the call.")


async def test_each_final_is_printed_once_in_order_with_time_into_the_call() -> None:
    code, lines, err, call = await tail(
        [
            RoomAssigned("room"),
            CallContext(START, (HistoryLine(Role.AGENT, "earlier"),), True),
            LIVE,
            seg("A", "Thanks for calling,", 185, role=Role.AGENT, final=False, speaker="Ava"),
            seg("A", "Thanks for calling, this is Ava.", 185, role=Role.AGENT, speaker="Ava"),
            seg("A", "Thanks for calling, this is Ava.", 185, role=Role.AGENT, speaker="Ava"),
            seg("B", "My bill is twice", 192.4, final=False),
            seg("B", "My bill is twice what I usually pay.", 192.4),
            seg("C", "hello", 3725, role=Role.OTHER, speaker="Intruder"),
            ENDED,
        ]
    )
    assert code == 0 and call.stopped == 1
    assert lines == [
        "03:05 Agent: Thanks for calling, this is Ava.",
        "03:12 Caller: My bill is twice what I usually pay.",
        "1:02:05 Intruder: hello",
    ]
    assert err == "snoop-tui: The agent left the call.\n"


async def test_interim_versions_are_added_marked_when_asked() -> None:
    code, lines, _, _ = await tail(
        [
            CallContext(START),
            seg("B", "My bill", 12, final=False),
            seg("B", "My bill", 12, final=False),
            seg("B", "My bill is twice", 12, final=False),
            seg("B", "My bill is twice.", 12),
            seg("B", "late interim", 12, final=False),
            ENDED,
        ],
        interim=True,
    )
    assert lines == [
        "00:12 Caller (interim): My bill",
        "00:12 Caller (interim): My bill is twice",
        "00:12 Caller: My bill is twice.",
    ]


async def test_json_lines_carry_the_segment_s_fields() -> None:
    _, lines, _, _ = await tail(
        [CallContext(START), seg("B", "Hi", 192.4), seg("C", "Hm", 200, final=False), ENDED],
        as_json=True,
        interim=True,
    )
    records = [json.loads(line) for line in lines]
    assert records[0] == {
        "id": "B",
        "speaker": "Caller",
        "role": "caller",
        "text": "Hi",
        "final": True,
        "seconds_into_call": 192.4,
        "wall_time": "2024-05-01T10:03:12.400000+00:00",
    }
    assert records[1]["final"] is False


async def test_segments_wait_briefly_for_the_start_time_then_count_from_the_first() -> None:
    _, lines, _, _ = await tail(
        [seg("A", "first", 100), seg("B", "second", 107), 0.02, CallContext(START), ENDED]
    )
    assert lines == ["01:40 Caller: first", "01:47 Caller: second"]  # the start came in time

    _, lines, _, _ = await tail(
        [seg("A", "first", 100), 0.3, seg("B", "second", 107), CallContext(START), ENDED],
        context_wait=0.05,
    )
    assert lines == ["00:00 Caller: first", "00:07 Caller: second"]  # it did not

    _, lines, _, _ = await tail(
        [CallContext(None), seg("A", "first", 100), seg("B", "x", 161), ENDED]
    )
    assert lines == ["00:00 Caller: first", "01:01 Caller: x"]  # the platform did not say


async def test_a_failure_is_raised_for_the_cli_after_leaving() -> None:
    call = ScriptedCall([CallFailed(ConversationNotFound("Conversation c was not found (404)."))])
    with pytest.raises(ConversationNotFound, match="404"):
        await Tail(call, TailFormat(), io.StringIO(), io.StringIO()).run()
    assert call.stopped == 1


async def test_notices_and_the_end_go_to_stderr_cleaned() -> None:
    _, lines, err, _ = await tail([Notice("rejoining \x1b[2J…"), StateChanged(CallState.LEFT)])
    assert lines == [] and err == "snoop-tui: rejoining ␛[2J…\n"


async def test_control_characters_from_the_call_never_reach_the_output() -> None:
    hostile = "\x1b]52;c;ZXZpbA==\x07 \x1b[2J \x9b \x00"
    _, lines, err, _ = await tail(
        [
            CallContext(START),
            seg("\x1b[31m", hostile, 1, role=Role.OTHER, speaker="\x1b]0;x\x07"),
            StateChanged(CallState.ENDED, "bye \x07"),
        ],
        as_json=False,
    )
    _, json_lines, _, _ = await tail(
        [CallContext(START), seg("\x1b", hostile, 1), ENDED], as_json=True
    )
    for text in (*lines, *json_lines, *err.splitlines()):
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text), repr(text)
    assert "␛]52;c;ZXZpbA==␇" in lines[0]


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


async def test_a_reader_that_goes_away_ends_the_tail_quietly() -> None:
    call = ScriptedCall([CallContext(START), seg("A", "one", 1), seg("B", "two", 2), 5.0, ENDED])
    err = io.StringIO()
    tail_ = Tail(call, TailFormat(), ClosedPipe(), err)
    assert await asyncio.wait_for(tail_.run(), 2) == 0
    assert tail_.pipe_closed and call.stopped == 1 and err.getvalue() == ""


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0), (signal.SIGHUP, 0)]
)
async def test_a_signal_leaves_the_call(signum: signal.Signals, code: int) -> None:
    call = ScriptedCall([CallContext(START), seg("A", "one", 1), 0.1, 30.0])
    out = io.StringIO()
    running = asyncio.create_task(Tail(call, TailFormat(), out, io.StringIO()).run())
    await asyncio.sleep(0.2)
    os.kill(os.getpid(), signum)
    assert await asyncio.wait_for(running, 2) == code
    assert call.stopped == 1 and out.getvalue() == "00:01 Caller: one\n"

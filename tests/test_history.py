"""What was said before you joined: the platform's transcript, read whatever its shape.

Pure tests of `snoop_tui.history` (several shapes, garbage, bounds, the seam with the
live text), of `PlatformClient.conversation_detail` over httpx's MockTransport, and of
the `CallContext` event on the pipe.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from snoop_tui.events import CallContext, HistoryLine
from snoop_tui.history import (
    MAX_HISTORY_LINES,
    MAX_LINE_CHARS,
    is_repeat,
    parse_history,
    parse_started_at,
    read_history,
)
from snoop_tui.local_call import InProcessCall
from snoop_tui.platform import PlatformClient
from snoop_tui.protocol import MAX_LINE_BYTES, ProtocolError, decode_event, encode
from snoop_tui.settings import Secret, Settings
from snoop_tui.transcript import Role, TranscriptSegment

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
MOCKED = Settings(api_url="http://127.0.0.1:9", credential=Secret("ak_demo_sensitive"))


def answer(conversation: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "conv_1",
        "status": "in_progress",
        "created_at": "2024-05-01T10:00:00Z",
        **extra,
    }
    if conversation is not None:
        body["conversation"] = conversation
    return body


def said(body: Any) -> list[tuple[Role, str]]:
    return [(line.role, line.text) for line in parse_history(body)]


@pytest.mark.parametrize(
    "conversation",
    [
        [{"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Hi"}],
        {
            "transcript": [
                {"speaker": "agent", "text": "Hello"},
                {"speaker": "caller", "text": "Hi"},
            ]
        },
        {
            "messages": [
                {"sender": "bot", "message": "Hello"},
                {"sender": "customer", "message": "Hi"},
            ]
        },
        {"turns": [{"from": "AI", "body": "Hello"}, {"from": "Human", "body": "Hi"}]},
        {
            "transcript": {
                "messages": [{"role": "agent", "text": "Hello"}, {"role": "user", "text": "Hi"}]
            }
        },
        [
            {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
        ],
        [
            {"speaker": {"role": "agent", "name": "Ava"}, "text": "Hello"},
            {"speaker": {"role": "caller"}, "text": "Hi"},
        ],
        "Agent: Hello\nUser: Hi",
        {"transcript": "Assistant: Hello\nCustomer: Hi"},
    ],
    ids=[
        "a list",
        "transcript",
        "messages",
        "turns",
        "nested messages",
        "content parts",
        "speaker objects",
        "plain text",
        "plain text transcript",
    ],
)
def test_common_shapes_are_read(conversation: Any) -> None:
    assert said(answer(conversation)) == [(Role.AGENT, "Hello"), (Role.CALLER, "Hi")]
    assert read_history(answer(conversation)).available


def test_roles_map_to_agent_caller_or_other_and_system_turns_are_not_speech() -> None:
    turns = [
        {"role": "agent", "text": "a"},
        {"role": "Assistant", "text": "b"},
        {"role": "virtual-agent", "text": "c"},
        {"role": "caller", "text": "d"},
        {"role": "HUMAN", "text": "e"},
        {"role": "supervisor", "text": "f"},
        {"text": "g"},
        {"role": "system", "content": "You are a helpful billing agent."},
        {"role": "tool", "content": '{"balance": 184}'},
    ]
    assert [line.role for line in parse_history(answer(turns))] == [
        Role.AGENT,
        Role.AGENT,
        Role.AGENT,
        Role.CALLER,
        Role.CALLER,
        Role.OTHER,
        Role.OTHER,
    ]


def test_times_are_iso_epoch_seconds_milliseconds_or_seconds_into_the_call() -> None:
    turns = [
        {"role": "agent", "text": "iso", "timestamp": "2024-05-01T10:00:03Z"},
        {"role": "agent", "text": "naive iso", "time": "2024-05-01T10:00:04"},
        {"role": "agent", "text": "offset iso", "created_at": "2024-05-01T12:00:05+02:00"},
        {"role": "agent", "text": "epoch s", "timestamp": START.timestamp() + 6},
        {"role": "agent", "text": "epoch ms", "timestamp": (START.timestamp() + 7) * 1000},
        {"role": "agent", "text": "digits", "ts": str(int(START.timestamp()) + 8)},
        {"role": "agent", "text": "into the call", "start": 9.5},
        {"role": "agent", "text": "nonsense", "timestamp": "yesterday-ish"},
        {"role": "agent", "text": "a bool", "time": True},
        {"role": "agent", "text": "infinite", "time": float("inf")},
    ]
    times = [line.at for line in parse_history(answer(turns))]
    expected = [START + timedelta(seconds=s) for s in (3, 4, 5, 6, 7, 8, 9.5)]
    assert times == [*expected, None, None, None]
    assert all(t is None or t.tzinfo is not None for t in times)


def test_the_call_start_is_the_conversation_created_at() -> None:
    assert parse_started_at(answer()) == START
    assert read_history(answer([])).started_at == START
    assert parse_started_at({"created_at": 12}) is None
    assert parse_started_at({"created_at": "soon"}) is None
    assert parse_started_at(None) is None


@pytest.mark.parametrize(
    "body",
    [
        None,
        42,
        "text",
        answer(),
        answer({"recording": "x"}),
        answer({"transcript": 7}),
        answer([1, 2.5, None, "x", ["nested"]]),
        answer([{"unrelated": True}]),
        {"conversation": {"transcript": [{"role": ["agent"], "text": {"no": "text"}}]}},
        {"conversation": [{"role": "agent", "text": None}, {"role": "agent", "text": "   "}]},
    ],
    ids=[
        "null",
        "a number",
        "a string",
        "no conversation",
        "no transcript",
        "transcript of the wrong type",
        "a list of garbage",
        "a list of unknown objects",
        "fields of the wrong types",
        "blank turns",
    ],
)
def test_garbage_is_no_history_and_never_an_error(body: Any) -> None:
    history = read_history(body)
    assert history.lines == ()
    assert parse_history(body) == []


def test_unreadable_shapes_say_the_history_is_not_available() -> None:
    assert not read_history(answer()).available
    assert not read_history(answer({"transcript": 7})).available
    assert not read_history(answer([1, "x", None])).available
    assert read_history(answer([])).available  # nothing said yet
    assert read_history(answer([{"role": "system", "content": "prompt"}])).available


def test_deeply_nested_or_odd_objects_do_not_break_it() -> None:
    deep: Any = [{"role": "agent", "text": "ok"}]
    for _ in range(500):
        deep = {"transcript": deep}
    assert parse_history({"conversation": deep}) == []

    class Weird(dict[str, Any]):
        def get(self, *args: Any) -> Any:
            raise RuntimeError("boom")

    assert read_history(Weird()).lines == ()


def test_text_is_cleaned_of_control_characters_and_spacing() -> None:
    turns = [{"role": "caller", "text": "hi\x1b]52;c;ZXZpbA==\x07 \x1b[2J\n\tthere \x9b"}]
    (line,) = parse_history(answer(turns))
    assert "\x1b" not in line.text and "\x07" not in line.text and "\x9b" not in line.text
    assert line.text == "hi␛]52;c;ZXZpbA==␇ ␛[2J there \ufffd"


def test_the_count_and_the_length_are_bounded_keeping_the_latest() -> None:
    turns = [{"role": "agent", "text": f"turn {n}"} for n in range(MAX_HISTORY_LINES + 25)]
    turns.append({"role": "caller", "text": "x" * 50_000})
    history = read_history(answer(turns))
    assert len(history.lines) == MAX_HISTORY_LINES and history.omitted == 26
    assert history.lines[0].text == "turn 26"
    assert len(history.lines[-1].text) <= MAX_LINE_CHARS + len(" …[cut]")
    assert history.lines[-1].text.endswith("…[cut]")


def segment(text: str, role: Role = Role.CALLER, at: datetime | None = None) -> TranscriptSegment:
    spoken = (at or START).timestamp() * 1000
    return TranscriptSegment("SG_1", role, "Caller", text, True, 0, spoken_at=spoken)


def test_a_live_segment_that_repeats_the_last_history_lines_is_a_repeat() -> None:
    history = [
        HistoryLine(Role.AGENT, "How can I help?", START),
        HistoryLine(Role.CALLER, "My bill is twice what I usually pay.", START),
    ]
    assert is_repeat(history, segment("my bill is twice what i usually pay"))
    assert is_repeat(history, segment("My  bill, is twice what I usually pay!"))
    assert is_repeat(history, segment("How can I help", Role.AGENT))
    assert not is_repeat(history, segment("How can I help?", Role.CALLER))  # not the same voice
    assert not is_repeat(history, segment("My bill is twice what I usually paid."))
    assert not is_repeat(history, segment("..."))
    assert not is_repeat([], segment("anything"))


def test_only_the_seam_counts_not_the_same_words_said_again_later() -> None:
    history = [HistoryLine(Role.CALLER, "Yes.", START)] + [
        HistoryLine(Role.AGENT, f"Question {n}?", START) for n in range(6)
    ]
    assert not is_repeat(history, segment("yes"))  # said long before the seam
    recent = [HistoryLine(Role.CALLER, "Yes.", START)]
    assert is_repeat(recent, segment("Yes", at=START + timedelta(seconds=3)))
    assert not is_repeat(recent, segment("Yes", at=START + timedelta(minutes=10)))
    assert is_repeat([HistoryLine(Role.CALLER, "Yes.")], segment("Yes", at=START))  # no time


def test_unicode_case_and_punctuation_are_normalised() -> None:
    history = [HistoryLine(Role.CALLER, "Ｃafé — STRASSE, bitte…", None)]
    assert is_repeat(history, segment("café strasse bitte"))


# the platform client -----------------------------------------------------------------


def mocked_client(body: Any, status: int = 200) -> PlatformClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    return PlatformClient(MOCKED, transport=httpx.MockTransport(handler), retries=0)


async def test_the_conversation_detail_carries_start_and_history() -> None:
    body = answer({"transcript": [{"role": "agent", "text": "Hello", "start": 1}]})
    async with mocked_client(body) as client:
        detail = await client.conversation_detail("conv_1")
        conversation = await client.conversation("conv_1")
    assert detail.conversation == conversation and conversation.status == "in_progress"
    assert detail.started_at == START and detail.history_available
    assert detail.history == (HistoryLine(Role.AGENT, "Hello", START + timedelta(seconds=1)),)


async def test_a_conversation_without_a_readable_transcript_still_answers() -> None:
    for conversation in (None, "", {"transcript": 7}, [1, 2]):
        async with mocked_client(answer(conversation)) as client:
            detail = await client.conversation_detail("conv_1")
        assert detail.conversation.status == "in_progress"
        assert detail.history == () and not detail.history_available


async def test_a_long_transcript_is_not_refused_as_too_large() -> None:
    turns = [{"role": "agent", "text": "word " * 60} for _ in range(2_000)]  # ~700 KB
    body = answer({"transcript": turns})
    assert len(json.dumps(body)) > 512 * 1024
    async with mocked_client(body) as client:
        detail = await client.conversation_detail("conv_1")
        assert (await client.conversation("conv_1")).status == "in_progress"
    assert len(detail.history) == MAX_HISTORY_LINES


async def test_a_platform_that_fails_to_answer_gives_a_context_without_history() -> None:
    """The call goes on; the panel learns only that there is no history to show."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"detail": "down"})

    events: list[object] = []
    call = InProcessCall(
        MOCKED,
        "conv_1",
        platform_factory=lambda s: PlatformClient(
            s, transport=httpx.MockTransport(handler), retries=0
        ),
    )
    call._on_event = events.append
    await call._fetch_context()
    await call.stop()
    assert events == [CallContext(started_at=None, history=(), history_available=False)]


# the pipe ------------------------------------------------------------------------------


CONTEXTS = [
    CallContext(started_at=None),
    CallContext(START, (), True),
    CallContext(
        START,
        (
            HistoryLine(Role.AGENT, "Hello ␛[2J naïve", START),
            HistoryLine(Role.CALLER, "Hi", None),
            HistoryLine(Role.OTHER, "note", START + timedelta(milliseconds=1500)),
        ),
        True,
        3,
    ),
]


@pytest.mark.parametrize("context", CONTEXTS)
def test_the_call_context_survives_the_pipe(context: CallContext) -> None:
    line = encode(context)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_event(line) == context


def test_a_context_too_big_for_one_line_keeps_its_latest_lines_and_counts_the_rest() -> None:
    history = tuple(HistoryLine(Role.AGENT, f"{n} " + "é" * 1_990, START) for n in range(200))
    line = encode(CallContext(START, history, True, 5))
    assert len(line) <= MAX_LINE_BYTES
    decoded = decode_event(line)
    assert isinstance(decoded, CallContext)
    kept = len(decoded.history)
    assert 0 < kept < 200 and decoded.history == history[-kept:]
    assert decoded.history_omitted == 5 + 200 - kept


@pytest.mark.parametrize(
    "fields, complaint",
    [
        ({"history_available": True, "history_omitted": 0}, "field 'history'"),
        ({"history": [], "history_omitted": 0}, "field 'history_available'"),
        ({"history": [], "history_available": 1, "history_omitted": 0}, "history_available"),
        ({"history": [], "history_available": True}, "field 'history_omitted'"),
        (
            {"history": [], "history_available": True, "history_omitted": 0, "started_at": 5},
            "started_at",
        ),
        (
            {"history": [], "history_available": True, "history_omitted": 0, "started_at": "noon"},
            "not a time",
        ),
        ({"history": [7], "history_available": True, "history_omitted": 0}, "not an object"),
        (
            {
                "history": [{"role": "boss", "text": "x"}],
                "history_available": True,
                "history_omitted": 0,
            },
            "not a role",
        ),
        (
            {"history": [{"role": "agent"}], "history_available": True, "history_omitted": 0},
            "field 'text'",
        ),
        (
            {
                "history": [{"role": "agent", "text": "x", "at": "later"}],
                "history_available": True,
                "history_omitted": 0,
            },
            "not a time",
        ),
    ],
)
def test_a_malformed_context_is_a_protocol_error(fields: dict[str, Any], complaint: str) -> None:
    line = json.dumps({"v": 1, "type": "context", **fields}).encode()
    with pytest.raises(ProtocolError, match=complaint):
        decode_event(line)

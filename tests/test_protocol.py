"""The pipe protocol: every event and command survives the trip; nothing odd crashes a side."""

from __future__ import annotations

import json

import pytest

from snoop_tui.commands import (
    ChangeVolume,
    Command,
    CycleFocus,
    Listen,
    Mute,
    StartCall,
    Stop,
    WatchHealth,
)
from snoop_tui.errors import ConversationNotActive, SnoopError
from snoop_tui.events import (
    AudioChanged,
    CallEvent,
    CallFailed,
    CallState,
    Health,
    Notice,
    RoomAssigned,
    SpeakersChanged,
    StateChanged,
    TrackHealth,
    TranscriptUpdated,
)
from snoop_tui.protocol import VERSION, ProtocolError, decode_command, decode_event, encode
from snoop_tui.settings import Secret, Settings
from snoop_tui.transcript import Role, TranscriptSegment

SEGMENT = TranscriptSegment(
    id="SG_1",
    role=Role.CALLER,
    speaker="Caller",
    text="naïve ␛[2J \u202e text",
    final=True,
    order=3,
    spoken_at=1_700_000_000_123.5,
    owner="agent-1",
)
EVENTS: list[CallEvent] = [
    StateChanged(CallState.LIVE),
    StateChanged(CallState.ENDED, "The agent left the call."),
    TranscriptUpdated(SEGMENT),
    SpeakersChanged(frozenset({Role.AGENT, Role.CALLER})),
    SpeakersChanged(frozenset()),
    AudioChanged(True, 1.2, Role.AGENT),
    AudioChanged(False, 1.0, None, "No audio output."),
    RoomAssigned("call-1"),
    Notice("The call connection crashed; rejoining…"),
    Health(),
    Health(182.5, 46.0, 2, 30.0, 1, (TrackHealth(Role.AGENT, 4980, 20, 3.25),)),
]
COMMANDS: list[Command] = [
    Listen(),
    Mute(),
    CycleFocus(),
    ChangeVolume(-1),
    WatchHealth(True),
    WatchHealth(False),
    Stop(),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_every_event_survives_the_pipe(event: CallEvent) -> None:
    line = encode(event)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_event(line) == event


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_every_command_survives_the_pipe(command: Command) -> None:
    assert decode_command(encode(command)) == command


def test_a_failure_keeps_its_kind_message_and_exit_code() -> None:
    decoded = decode_event(encode(CallFailed(ConversationNotActive("The call is over."))))
    assert isinstance(decoded, CallFailed)
    assert isinstance(decoded.error, ConversationNotActive)
    assert decoded.error.message == "The call is over." and decoded.error.exit_code == 14


def test_a_failure_of_a_kind_this_side_does_not_know_keeps_its_exit_code() -> None:
    line = json.dumps(
        {"v": VERSION, "type": "failed", "error": "FutureError", "message": "m", "exit_code": 42}
    ).encode()
    decoded = decode_event(line)
    assert isinstance(decoded, CallFailed) and type(decoded.error) is SnoopError
    assert decoded.error.exit_code == 42


def test_the_start_command_carries_the_settings_and_the_credential() -> None:
    settings = Settings(
        api_url="http://127.0.0.1:9", credential=Secret("ak_start_secret"), org="org_1"
    )
    start = StartCall("conv_1", settings, allow_insecure_ws=True, status_interval=0.5)
    decoded = decode_command(encode(start))
    assert decoded == start
    assert isinstance(decoded, StartCall) and decoded.settings.credential is not None
    assert decoded.settings.credential.reveal() == "ak_start_secret"
    assert "ak_start_secret" not in repr(decoded)


@pytest.mark.parametrize(
    "line, complaint",
    [
        (b'{"v": 1, "type": "state", "sta', "not a JSON line"),
        (b"\xff\xfe not utf-8\n", "not a JSON line"),
        (b"[1, 2]\n", "not a JSON object"),
        (b'{"v": 2, "type": "state", "state": "live"}\n', "protocol version 2"),
        (b'{"type": "state", "state": "live"}\n', "protocol version None"),
        (b'{"v": 1, "type": "hologram"}\n', "unknown event type 'hologram'"),
        (b'{"v": 1, "type": "state", "state": "exploded"}\n', "unknown call state"),
        (b'{"v": 1, "type": "state"}\n', "field 'state'"),
        (b'{"v": 1, "type": "audio", "listening": 1, "volume": 1.0}\n', "field 'listening'"),
        (b'{"v": 1, "type": "speakers", "active": ["boss"]}\n', "unknown role"),
        (b'{"v": 1, "type": "segment", "id": "x"}\n', "field 'role'"),
        (
            b'{"v": 1, "type": "health", "underflows": 0, "skips_ms": 0, "reconnects": 0, '
            b'"tracks": [7]}\n',
            "not an object",
        ),
        (b" " * 70_000 + b"\n", "too long"),
    ],
)
def test_anything_odd_is_a_protocol_error_not_a_crash(line: bytes, complaint: str) -> None:
    with pytest.raises(ProtocolError, match=complaint):
        decode_event(line)


@pytest.mark.parametrize(
    "line",
    [
        b'{"v": 1, "type": "self-destruct"}\n',
        b'{"v": 1, "type": "volume", "steps": "loud"}\n',
        b'{"v": 1, "type": "start", "conversation_id": "c"}\n',
        b'{"v": 1, "type": "listen"',
    ],
)
def test_an_odd_command_is_a_protocol_error(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_command(line)

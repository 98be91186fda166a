"""The pipe protocol between the UI process and a call process: JSON lines, versioned.

Events go up (state, transcript segments, speakers, audio, room, the call's context
from the platform, failure, notes);
commands go down (start, listen, mute, focus, volume, stop). Each line is one JSON
object with the protocol version `v` and a `type`. A reader never trusts the other
side: a line that is not JSON, of an unknown type, of a newer version, or with a
missing or mistyped field is reported as a `ProtocolError` for the caller to log
and skip, never a crash. A call's context (`CallContext`) is the one event that can
outgrow a line: its oldest history lines are left out (and counted) until it fits.

    {"v": 1, "type": "state", "state": "live", "reason": null}
    {"v": 1, "type": "listen"}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from snoop_tui import errors
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
from snoop_tui.errors import SnoopError
from snoop_tui.events import (
    AudioChanged,
    CallContext,
    CallEvent,
    CallFailed,
    CallState,
    Health,
    HistoryLine,
    Notice,
    RoomAssigned,
    SpeakersChanged,
    StateChanged,
    TrackHealth,
    TranscriptUpdated,
)
from snoop_tui.settings import Secret, Settings
from snoop_tui.transcript import Role, TranscriptSegment

VERSION = 1
MAX_LINE_BYTES = 64 * 1024
"""A segment is cut at 8,000 characters; no honest line comes near this."""


class ProtocolError(Exception):
    """A line from the other process that cannot be understood (logged and skipped)."""


# encoding ------------------------------------------------------------------------


def _segment_fields(segment: TranscriptSegment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "role": segment.role.value,
        "speaker": segment.speaker,
        "text": segment.text,
        "final": segment.final,
        "order": segment.order,
        "spoken_at": segment.spoken_at,
        "owner": segment.owner,
    }


def _event_fields(event: CallEvent) -> dict[str, Any]:
    if isinstance(event, StateChanged):
        return {"type": "state", "state": event.state.value, "reason": event.reason}
    if isinstance(event, TranscriptUpdated):
        return {"type": "segment", **_segment_fields(event.segment)}
    if isinstance(event, SpeakersChanged):
        return {"type": "speakers", "active": sorted(role.value for role in event.active)}
    if isinstance(event, AudioChanged):
        return {
            "type": "audio",
            "listening": event.listening,
            "volume": event.volume,
            "focus": event.focus.value if event.focus is not None else None,
            "message": event.message,
        }
    if isinstance(event, RoomAssigned):
        return {"type": "room", "room_name": event.room_name}
    if isinstance(event, Notice):
        return {"type": "notice", "text": event.text}
    if isinstance(event, Health):
        return {
            "type": "health",
            "joined_ms": event.joined_ms,
            "audio_delay_ms": event.audio_delay_ms,
            "underflows": event.underflows,
            "skips_ms": event.skips_ms,
            "reconnects": event.reconnects,
            "tracks": [
                {
                    "role": t.role.value,
                    "packets_received": t.packets_received,
                    "packets_lost": t.packets_lost,
                    "jitter_ms": t.jitter_ms,
                }
                for t in event.tracks
            ],
        }
    if isinstance(event, CallContext):
        return _context_fields(event)
    error = event.error
    return {
        "type": "failed",
        "error": type(error).__name__,
        "message": error.message,
        "exit_code": error.exit_code,
    }


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _history_item(line: HistoryLine) -> dict[str, Any]:
    return {"role": line.role.value, "text": line.text, "at": _time(line.at)}


def _context_fields(event: CallContext) -> dict[str, Any]:
    """The context, its oldest history lines left out (and counted) if it would not fit."""
    items = [_history_item(line) for line in event.history]
    sizes = [len(json.dumps(item, ensure_ascii=False).encode()) + 2 for item in items]
    head: dict[str, Any] = {
        "type": "context",
        "started_at": _time(event.started_at),
        "history_available": event.history_available,
        "history_omitted": event.history_omitted + len(items),
        "history": [],
    }
    budget = MAX_LINE_BYTES - len(json.dumps({"v": VERSION, **head}).encode()) - 64
    kept = 0
    while kept < len(items) and sizes[len(items) - 1 - kept] <= budget:
        budget -= sizes[len(items) - 1 - kept]
        kept += 1
    return {
        **head,
        "history_omitted": event.history_omitted + len(items) - kept,
        "history": items[len(items) - kept :],
    }


def _command_fields(command: Command) -> dict[str, Any]:
    if isinstance(command, StartCall):
        settings = {f.name: getattr(command.settings, f.name) for f in fields(Settings)}
        credential = command.settings.credential
        settings["credential"] = credential.reveal() if credential is not None else None
        return {
            "type": "start",
            "conversation_id": command.conversation_id,
            "settings": settings,
            "allow_insecure_ws": command.allow_insecure_ws,
            "status_interval": command.status_interval,
        }
    if isinstance(command, ChangeVolume):
        return {"type": "volume", "steps": command.steps}
    if isinstance(command, WatchHealth):
        return {"type": "health", "on": command.on}
    return {"type": _COMMAND_NAMES[type(command)]}


def encode(message: CallEvent | Command) -> bytes:
    """One line of the protocol, newline included."""
    if isinstance(message, (StartCall, Listen, Mute, CycleFocus, ChangeVolume, WatchHealth, Stop)):
        fields = _command_fields(message)
    else:
        fields = _event_fields(message)
    return json.dumps({"v": VERSION, **fields}, ensure_ascii=False).encode() + b"\n"


# decoding ------------------------------------------------------------------------


class _Fields:
    """Typed access to one message's fields; anything off raises `ProtocolError`."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self._body = body

    def get(self, name: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
        value = self._body.get(name)
        if value is None and optional:
            return None
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            raise ProtocolError(f"field {name!r} is not a number")
        if not isinstance(value, kind):
            raise ProtocolError(f"field {name!r} is missing or of the wrong type")
        return value

    def number(self, name: str) -> float:
        return float(self.get(name, (int, float)))

    def optional_number(self, name: str) -> float | None:
        return None if self._body.get(name) is None else self.number(name)

    def role(self, name: str) -> Role:
        try:
            return Role(self.get(name, str))
        except ValueError:
            raise ProtocolError(f"field {name!r} is not a role") from None


def _parse_line(line: bytes) -> tuple[str, _Fields]:
    if len(line) > MAX_LINE_BYTES:
        raise ProtocolError(f"a line of {len(line)} bytes is too long")
    try:
        body = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not a JSON line ({exc.__class__.__name__})") from None
    if not isinstance(body, dict):
        raise ProtocolError("not a JSON object")
    version = body.get("v")
    if version != VERSION:
        raise ProtocolError(f"protocol version {version!r}; this side speaks {VERSION}")
    kind = body.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("no message type")
    return kind, _Fields(body)


def _error(name: str, message: str, exit_code: int) -> SnoopError:
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, SnoopError):
        return cls(message)
    error = SnoopError(message)  # a class this side does not know: keep its exit code
    error.exit_code = exit_code
    return error


_EVENT_READERS: dict[str, Callable[[_Fields], CallEvent]] = {
    "state": lambda f: StateChanged(
        _state(f.get("state", str)), f.get("reason", str, optional=True)
    ),
    "segment": lambda f: TranscriptUpdated(
        TranscriptSegment(
            id=f.get("id", str),
            role=f.role("role"),
            speaker=f.get("speaker", str),
            text=f.get("text", str),
            final=f.get("final", bool),
            order=int(f.number("order")),
            spoken_at=f.number("spoken_at"),
            owner=f.get("owner", str),
        )
    ),
    "speakers": lambda f: SpeakersChanged(
        frozenset(_role(value) for value in f.get("active", list))
    ),
    "audio": lambda f: AudioChanged(
        f.get("listening", bool),
        f.number("volume"),
        f.role("focus") if f.get("focus", str, optional=True) else None,
        f.get("message", str, optional=True),
    ),
    "room": lambda f: RoomAssigned(f.get("room_name", str)),
    "notice": lambda f: Notice(f.get("text", str)),
    "health": lambda f: Health(
        joined_ms=f.optional_number("joined_ms"),
        audio_delay_ms=f.optional_number("audio_delay_ms"),
        underflows=int(f.number("underflows")),
        skips_ms=f.number("skips_ms"),
        reconnects=int(f.number("reconnects")),
        tracks=tuple(_track_health(_Fields(_object(t))) for t in f.get("tracks", list)),
    ),
    "context": lambda f: CallContext(
        started_at=_optional_time(f, "started_at"),
        history=tuple(_history_line(_Fields(_object(item))) for item in f.get("history", list)),
        history_available=f.get("history_available", bool),
        history_omitted=int(f.number("history_omitted")),
    ),
    "failed": lambda f: CallFailed(
        _error(f.get("error", str), f.get("message", str), int(f.number("exit_code")))
    ),
}

_COMMAND_NAMES: dict[type, str] = {
    Listen: "listen",
    Mute: "mute",
    CycleFocus: "focus",
    Stop: "stop",
}
_SIMPLE_COMMANDS: dict[str, Command] = {
    "listen": Listen(),
    "mute": Mute(),
    "focus": CycleFocus(),
    "stop": Stop(),
}


def _track_health(fields: _Fields) -> TrackHealth:
    return TrackHealth(
        role=fields.role("role"),
        packets_received=int(fields.number("packets_received")),
        packets_lost=int(fields.number("packets_lost")),
        jitter_ms=fields.number("jitter_ms"),
    )


def _optional_time(fields: _Fields, name: str) -> datetime | None:
    value = fields.get(name, str, optional=True)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ProtocolError(f"field {name!r} is not a time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _history_line(fields: _Fields) -> HistoryLine:
    return HistoryLine(
        role=fields.role("role"), text=fields.get("text", str), at=_optional_time(fields, "at")
    )


def _object(value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError("a list item is not an object")
    return value


def _state(value: str) -> CallState:
    try:
        return CallState(value)
    except ValueError:
        raise ProtocolError(f"unknown call state {value!r}") from None


def _role(value: object) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        raise ProtocolError(f"unknown role {value!r}") from None


def _settings(given: _Fields) -> Settings:
    values: dict[str, Any] = {}
    for field in fields(Settings):
        if field.name == "credential":
            credential = given.get("credential", str, optional=True)
            values["credential"] = Secret(credential) if credential is not None else None
        elif field.type in ("float", float):
            values[field.name] = given.number(field.name)
        elif field.type in ("bool", bool):
            values[field.name] = given.get(field.name, bool)
        elif field.type == "tuple[str, ...]":
            items = given.get(field.name, list)
            if not all(isinstance(item, str) for item in items):
                raise ProtocolError(f"field {field.name!r} is not a list of strings")
            values[field.name] = tuple(items)
        else:  # str, or str | None
            values[field.name] = given.get(field.name, str, optional="None" in str(field.type))
    return Settings(**values)


def decode_event(line: bytes) -> CallEvent:
    """An event from a call process; raises `ProtocolError` for anything off."""
    kind, body = _parse_line(line)
    reader = _EVENT_READERS.get(kind)
    if reader is None:
        raise ProtocolError(f"unknown event type {kind!r}")
    return reader(body)


def decode_command(line: bytes) -> Command:
    """A command from the UI process; raises `ProtocolError` for anything off."""
    kind, body = _parse_line(line)
    if kind in _SIMPLE_COMMANDS:
        return _SIMPLE_COMMANDS[kind]
    if kind == "volume":
        return ChangeVolume(int(body.number("steps")))
    if kind == "health":
        return WatchHealth(body.get("on", bool))
    if kind == "start":
        return StartCall(
            conversation_id=body.get("conversation_id", str),
            settings=_settings(_Fields(body.get("settings", dict))),
            allow_insecure_ws=body.get("allow_insecure_ws", bool),
            status_interval=body.number("status_interval"),
        )
    raise ProtocolError(f"unknown command {kind!r}")

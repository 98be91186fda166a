"""What was said before the observer joined: the platform's transcript, read defensively.

`GET /core/conversations/{id}` may carry the transcript so far in its `conversation`
object when the credential's role allows it; its shape is not documented. This
module accepts the shapes such transcripts commonly take and never fails on one it
does not know: a list of turns directly under `conversation`, or under its
`transcript`, `messages`, `turns`, ... key; each turn with a role-ish key (`role`,
`speaker`, `sender`, ...), a text-ish key (`text`, `content`, `message`, ...) and
maybe a time-ish key (`timestamp`, `time`, `created_at`, `start`, ...: ISO 8601,
epoch seconds or milliseconds, or seconds into the call). A plain-text transcript
("Agent: ...", one turn a line) is read too. Pure: no I/O, no SDK.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from snoop_tui.events import HistoryLine
from snoop_tui.transcript import Role, TranscriptSegment, clean_text

__all__ = [
    "History",
    "HistoryLine",
    "MAX_HISTORY_LINES",
    "MAX_LINE_CHARS",
    "is_repeat",
    "parse_history",
    "parse_started_at",
    "read_history",
]

MAX_HISTORY_LINES = 500
"""The most recent turns kept; a call long enough to have more is cut at its start."""
MAX_LINE_CHARS = 2_000
"""A turn is a sentence or a few; a longer one is cut with a marker."""
REPEAT_WINDOW = 4
"""How many of the last history lines a live segment can repeat (the seam of the join)."""
REPEAT_SECONDS = 120.0
"""A live segment repeats a history line only if both were said this close (when known)."""

_TURN_LIST_KEYS = ("transcript", "messages", "turns", "utterances", "entries", "items", "segments")
_ROLE_KEYS = ("role", "speaker", "sender", "from", "author", "participant", "source", "type")
_TEXT_KEYS = ("text", "content", "message", "transcript", "utterance", "body", "value")
_TIME_KEYS = (
    "timestamp",
    "time",
    "created_at",
    "createdAt",
    "start",
    "start_time",
    "startTime",
    "started_at",
    "ts",
    "secondsFromStart",
    "seconds_from_start",
)
_AGENT = frozenset({"agent", "assistant", "bot", "ai", "model", "voicebot", "virtual_agent"})
_CALLER = frozenset({"user", "caller", "customer", "human", "client", "contact", "callee"})
_SKIPPED = frozenset({"system", "tool", "function", "developer", "tool_call", "tool_result"})
"""Not speech: a system prompt or a tool's output is no part of what was said on the call."""
_EPOCH_SECONDS_FROM = 1e9  # 2001-09-09: smaller numbers are seconds into the call
_EPOCH_MILLIS_FROM = 1e12
_PLAIN_TEXT_TURN = re.compile(r"^\s*([A-Za-z][\w .'-]{0,30}?)\s*:\s*(.+)$")


@dataclass(frozen=True)
class History:
    """The platform's transcript so far, as far as it could be read."""

    lines: tuple[HistoryLine, ...] = ()
    available: bool = False
    """The answer carried a transcript we could read (possibly empty)."""
    started_at: datetime | None = None
    """The conversation's `created_at`."""
    omitted: int = 0
    """Older turns left out (over `MAX_HISTORY_LINES`)."""


def read_history(body: object) -> History:
    """Read a conversation answer (the whole JSON body); never raises."""
    try:
        return _read(body)
    except Exception:  # a shape nobody foresaw (deep nesting, odd types): no history
        return History(started_at=_safe_started_at(body))


def parse_history(body: object) -> list[HistoryLine]:
    """The turns said so far, oldest first; empty when there are none or they are unreadable."""
    return list(read_history(body).lines)


def parse_started_at(body: object) -> datetime | None:
    """The conversation's `created_at` (UTC), or None."""
    return _safe_started_at(body)


def _safe_started_at(body: object) -> datetime | None:
    try:
        return _moment(body.get("created_at")) if isinstance(body, Mapping) else None
    except Exception:
        return None


def _read(body: object) -> History:
    started_at = _safe_started_at(body)
    turns = _find_turns(body)
    if turns is None:
        return History(started_at=started_at)
    lines = [line for turn in turns if (line := _line(turn, started_at)) is not None]
    if turns and not lines and not any(_looks_like_turn(turn) for turn in turns[:50]):
        return History(started_at=started_at)  # a list of something else: no history
    omitted = max(0, len(lines) - MAX_HISTORY_LINES)
    return History(tuple(lines[omitted:]), True, started_at, omitted)


def _find_turns(body: object) -> Sequence[Any] | None:
    """The list of turns in the answer, wherever a platform would put it; None if none."""
    if isinstance(body, list):
        return body
    if not isinstance(body, Mapping):
        return None
    conversation = body.get("conversation")
    if isinstance(conversation, list):
        return conversation
    if isinstance(conversation, str) and conversation.strip():
        return _plain_text_turns(conversation)
    for container in (conversation, body):
        if isinstance(container, Mapping):
            found = _turns_in(container)
            if found is not None:
                return found
    return None


def _turns_in(container: Mapping[str, Any]) -> Sequence[Any] | None:
    for key in _TURN_LIST_KEYS:
        value = container.get(key)
        if isinstance(value, list):
            return value
        if isinstance(value, str) and value.strip():
            return _plain_text_turns(value)
        if isinstance(value, Mapping):  # e.g. {"transcript": {"messages": [...]}}
            for inner in _TURN_LIST_KEYS:
                if isinstance(value.get(inner), list):
                    return list(value[inner])
    return None


def _plain_text_turns(text: str) -> list[dict[str, str]]:
    """`Agent: ...` / `User: ...` lines; a line without a speaker continues the last turn."""
    turns: list[dict[str, str]] = []
    for raw in text.splitlines()[-4 * MAX_HISTORY_LINES :]:
        match = _PLAIN_TEXT_TURN.match(raw)
        if match is not None:
            turns.append({"role": match.group(1), "text": match.group(2)})
        elif raw.strip() and turns:
            turns[-1]["text"] += " " + raw.strip()
        elif raw.strip():
            turns.append({"role": "", "text": raw})
    return turns


def _looks_like_turn(turn: object) -> bool:
    return isinstance(turn, Mapping) and any(k in turn for k in (*_ROLE_KEYS, *_TEXT_KEYS))


def _line(turn: object, started_at: datetime | None) -> HistoryLine | None:
    if not isinstance(turn, Mapping):
        return None
    role = _role(turn)
    if role is None:
        return None
    text = " ".join(_text(turn)[: 4 * MAX_LINE_CHARS].split())
    if not text:
        return None
    if len(text) > MAX_LINE_CHARS:
        text = text[:MAX_LINE_CHARS] + " …[cut]"
    return HistoryLine(role=role, text=clean_text(text), at=_time(turn, started_at))


def _role(turn: Mapping[str, Any]) -> Role | None:
    """The speaker's role; None for turns that are not speech (system, tool)."""
    for key in _ROLE_KEYS:
        value = turn.get(key)
        if isinstance(value, Mapping):  # {"speaker": {"role": "agent", "name": "Ava"}}
            value = value.get("role") or value.get("type") or value.get("kind")
        if isinstance(value, str) and value.strip():
            name = value.strip().lower().replace("-", "_").replace(" ", "_")
            if name in _SKIPPED:
                return None
            if name in _AGENT or name.startswith("agent"):
                return Role.AGENT
            if name in _CALLER or name.startswith(("user", "caller", "customer")):
                return Role.CALLER
            return Role.OTHER
    return Role.OTHER


def _text(turn: Mapping[str, Any]) -> str:
    for key in _TEXT_KEYS:
        value = turn.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, list):  # [{"type": "text", "text": "..."}, ...]
            parts = [
                part if isinstance(part, str) else part.get("text")
                for part in value[:50]
                if isinstance(part, (str, Mapping))
            ]
            joined = " ".join(p for p in parts if isinstance(p, str) and p.strip())
            if joined:
                return joined
    return ""


def _time(turn: Mapping[str, Any], started_at: datetime | None) -> datetime | None:
    for key in _TIME_KEYS:
        value = turn.get(key)
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)) and math.isfinite(value):
            if value >= _EPOCH_SECONDS_FROM:
                return _epoch(value)
            if value >= 0 and started_at is not None:  # seconds into the call
                return started_at + timedelta(seconds=value)
            continue
        moment = _moment(value)
        if moment is not None:
            return moment
    return None


def _epoch(value: float) -> datetime | None:
    seconds = value / 1000.0 if value >= _EPOCH_MILLIS_FROM else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _moment(value: object) -> datetime | None:
    """An ISO 8601 time (or epoch seconds/ms, as a number or a string of digits), in UTC."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _epoch(value) if math.isfinite(value) and value >= _EPOCH_SECONDS_FROM else None
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        return None
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return _moment(number)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- the seam between history and live text ----------------------------------------------


def _normalised(text: str) -> str:
    """Case, punctuation and spacing do not make two sayings different."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(" " if unicodedata.category(c)[0] in "PSZC" else c for c in folded)
    return " ".join(kept.split())


def is_repeat(history: Sequence[HistoryLine], segment: TranscriptSegment) -> bool:
    """Whether a live segment only repeats a line the history already shows.

    The platform's transcript and the room both carry what was said around the
    moment the observer joined; the view drops the live copy. Only the last few
    history lines are compared (a caller who says "yes" again later is not a
    repeat), with the same role and the same words, said close together when both
    times are known."""
    said = _normalised(segment.text)
    if not said:
        return False
    spoken = segment.spoken_at / 1000.0 if segment.spoken_at else None
    for line in history[-REPEAT_WINDOW:]:
        if line.role is not segment.role or _normalised(line.text) != said:
            continue
        if spoken is None or line.at is None:
            return True
        if abs(line.at.timestamp() - spoken) <= REPEAT_SECONDS:
            return True
    return False

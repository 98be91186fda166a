"""The live call board's model: listed calls, and the rows the board shows of them.

Pure (no Textual, no I/O), so the board screen, `snoop-tui list` and the platform
client share it, and the UI can hold listed calls without loading the HTTP client:

- `ConversationSummary` and `parse_summary`: one listed conversation, read defensively
  (a read-only credential sees fewer fields; only `id` and `status` are sure).
- `Board`: each refresh's listing in, rows out: which are new, which just ended (kept a
  few seconds so they fade out rather than jump away under the cursor), newest first,
  filtered by a case-insensitive substring.
- `time_into_call`: "mm:ss" or "h:mm:ss" since the call was created.
"""

from __future__ import annotations

import math
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from snoop_tui.errors import ConfigError
from snoop_tui.settings import validate_conversation_id

NO_AUDIO_CHANNELS = frozenset({"email", "text"})
"""Channels whose conversations have no call room to listen to."""
NEW_FOR = 5.0
"""Seconds a row that arrived is marked new."""
ENDED_FOR = 5.0
"""Seconds a call that left the listing stays on the board, marked ended."""
MAX_TEXT = 200
"""Longest text kept from one listed field (a name, a number)."""
_STATUS_ORDER = {"token_created": 0, "triggered": 1, "ringing": 2, "in_progress": 3}
"""Active statuses only move forward: of two copies of one call, the later status wins."""


@dataclass(frozen=True)
class ConversationSummary:
    """One live call as the listing shows it.

    Only `id` and `status` are sure; every other field may be None. Text fields come
    without control or format characters (an escape sequence or a bidi override in a
    name must never reach a terminal)."""

    id: str
    status: str
    agent_name: str | None = None
    agent_id: str | None = None
    caller: str | None = None
    """The platform's `user_id`: who the agent talks to, often a phone number."""
    agent_number: str | None = None
    channel: str | None = None
    direction: str | None = None
    created_at: datetime | None = None
    duration: float | None = None
    """The platform's `duration`, in seconds, as it reports it (often 0 while live)."""

    @property
    def not_listenable_reason(self) -> str | None:
        """Why the panel cannot open on this call, or None when it can."""
        if self.channel in NO_AUDIO_CHANNELS:
            return f"{self.channel} conversations have no audio"
        return None

    @property
    def listenable(self) -> bool:
        return self.not_listenable_reason is None


def parse_summary(item: object) -> ConversationSummary | None:
    """A listed conversation, or None when it has no usable id (one the panel can open)
    and status. Any other field that is missing or of the wrong type becomes None."""
    if not isinstance(item, dict):
        return None
    conversation_id, status = item.get("id"), item.get("status")
    if not isinstance(conversation_id, str) or not isinstance(status, str) or not status:
        return None
    try:
        validate_conversation_id(conversation_id)
    except ConfigError:
        return None
    agent = item.get("agent")
    agent = agent if isinstance(agent, dict) else {}
    channel = _text(item.get("channel"))
    return ConversationSummary(
        id=conversation_id,
        status=status,
        agent_name=_text(agent.get("name")),
        agent_id=_text(agent.get("id")) or _text(item.get("agent_id")),
        caller=_text(item.get("user_id")),
        agent_number=_text(item.get("agent_number")),
        channel=channel.lower() if channel else None,
        direction=_text(item.get("direction")),
        created_at=_timestamp(item.get("created_at")),
        duration=_seconds(item.get("duration")),
    )


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    kept = (ch for ch in value if ch.isspace() or unicodedata.category(ch)[0] != "C")
    return " ".join("".join(kept).split())[:MAX_TEXT] or None


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def newest_first(call: ConversationSummary) -> tuple[bool, float]:
    """Sort key: dated calls first, newest to oldest; ties (and undated calls) keep the
    order they came in (Python's sort is stable), so rows never swap places by themselves."""
    created = call.created_at
    return (created is None, -created.timestamp() if created else 0.0)


def merge_listing(calls: Iterable[ConversationSummary]) -> list[ConversationSummary]:
    """One entry per id (the later status wins: a call listed as ringing and, a moment
    later, as in progress is in progress), newest first."""
    by_id: dict[str, ConversationSummary] = {}
    for call in calls:
        kept = by_id.get(call.id)
        if kept is None or _rank(call) > _rank(kept):
            by_id[call.id] = call
    return sorted(by_id.values(), key=newest_first)


def lifecycle_order(status: str) -> int:
    """Where an active status comes in a call's life (unknown statuses first)."""
    return _STATUS_ORDER.get(status, -1)


def _rank(call: ConversationSummary) -> int:
    return lifecycle_order(call.status)


def format_elapsed(seconds: float) -> str:
    """Elapsed time as mm:ss under an hour, h:mm:ss from then on; negative is 00:00."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def time_into_call(created_at: datetime | None, now: datetime) -> str | None:
    """How long the call has been going at `now` (aware, UTC), or None if unknown."""
    if created_at is None:
        return None
    return format_elapsed((now - created_at).total_seconds())


@dataclass(frozen=True)
class BoardRow:
    """One row of the board at one moment."""

    call: ConversationSummary
    is_new: bool
    """It arrived within the last `new_for` seconds (never on the first refresh)."""
    ended: bool
    """It left the listing: shown, marked ended, until `ended_for` seconds have passed."""

    @property
    def id(self) -> str:
        return self.call.id

    @property
    def listenable(self) -> bool:
        return not self.ended and self.call.listenable


@dataclass
class _Tracked:
    call: ConversationSummary
    arrived: float | None
    """Board clock when it first appeared; None for calls already there at the first look."""
    ended_at: float | None = None


class Board:
    """The board's rows across refreshes. `clock` is monotonic seconds (injectable)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        new_for: float = NEW_FOR,
        ended_for: float = ENDED_FOR,
    ) -> None:
        self._clock = clock
        self._new_for = new_for
        self._ended_for = ended_for
        self._tracked: dict[str, _Tracked] = {}
        self._refreshed = False
        self.filter_text = ""
        """Case-insensitive substring of the agent's name, the caller or the agent's number."""

    def update(self, calls: Iterable[ConversationSummary]) -> None:
        """Take one refresh's listing: new ids arrive, missing ids end, the rest update."""
        now = self._clock()
        listed = {call.id: call for call in merge_listing(calls)}
        for conversation_id, gone in self._tracked.items():
            if conversation_id not in listed and gone.ended_at is None:
                gone.ended_at = now
        for conversation_id, call in listed.items():
            tracked = self._tracked.get(conversation_id)
            if tracked is None:
                arrived = now if self._refreshed else None
                self._tracked[conversation_id] = _Tracked(call, arrived)
            else:  # listed again: updated, and back to live if it had briefly gone
                tracked.call = call
                tracked.ended_at = None
        self._refreshed = True
        self._forget_ended(now)

    def rows(self) -> list[BoardRow]:
        """The rows to show now: newest first, those matching `filter_text`."""
        return self._rows(self.filter_text)

    def row(self, conversation_id: str) -> BoardRow | None:
        """The row of one call, if it is on the board now (whatever the filter)."""
        return next((r for r in self._rows("") if r.id == conversation_id), None)

    @property
    def live_count(self) -> int:
        """Calls live now (ended rows and the filter do not count)."""
        return sum(1 for tracked in self._tracked.values() if tracked.ended_at is None)

    def _rows(self, filter_text: str) -> list[BoardRow]:
        now = self._clock()
        self._forget_ended(now)
        needle = filter_text.strip().casefold()
        rows = [
            BoardRow(
                call=tracked.call,
                is_new=tracked.arrived is not None and now - tracked.arrived < self._new_for,
                ended=tracked.ended_at is not None,
            )
            for tracked in self._tracked.values()
            if not needle or _matches(tracked.call, needle)
        ]
        return sorted(rows, key=lambda row: newest_first(row.call))

    def _forget_ended(self, now: float) -> None:
        expired = [
            conversation_id
            for conversation_id, tracked in self._tracked.items()
            if tracked.ended_at is not None and now - tracked.ended_at >= self._ended_for
        ]
        for conversation_id in expired:
            del self._tracked[conversation_id]


def _matches(call: ConversationSummary, needle: str) -> bool:
    fields = (call.agent_name, call.caller, call.agent_number)
    return any(needle in value.casefold() for value in fields if value)

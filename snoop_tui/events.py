"""What a call reports: a few small, typed events (no SDK types in them).

The listener session emits the room's events; the call link (see link.py) adds
the platform's answers. The app wraps each in a Textual message (see messages.py);
tests, benchmarks and the snapshot harness consume or produce them directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from snoop_tui.errors import SnoopError
from snoop_tui.transcript import Role, TranscriptSegment


class CallState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    LEFT = "left"

    @property
    def in_call(self) -> bool:
        """Joined, or rejoining: Listen and Mute mean something."""
        return self in (CallState.LIVE, CallState.RECONNECTING)


@dataclass(frozen=True)
class StateChanged:
    state: CallState
    reason: str | None = None


@dataclass(frozen=True)
class TranscriptUpdated:
    segment: TranscriptSegment


@dataclass(frozen=True)
class SpeakersChanged:
    active: frozenset[Role]


@dataclass(frozen=True)
class AudioChanged:
    listening: bool
    volume: float = 1.0
    focus: Role | None = None
    message: str | None = None
    """Why playback stopped on its own (a device that went away), for the panel."""


@dataclass(frozen=True)
class RoomAssigned:
    """The platform granted a listener token for this room."""

    room_name: str


@dataclass(frozen=True)
class TrackHealth:
    """How one speaker's audio is arriving, from the SDK's receive statistics."""

    role: Role
    packets_received: int
    packets_lost: int
    jitter_ms: float

    @property
    def loss_percent(self) -> float:
        total = self.packets_received + self.packets_lost
        return 100.0 * self.packets_lost / total if total else 0.0


@dataclass(frozen=True)
class Health:
    """The health readout: tells "the call is bad" from "my link is bad"."""

    joined_ms: float | None = None
    """From asking for the token to being in the room."""
    audio_delay_ms: float | None = None
    """Jitter buffer plus the device's queue, now; None while not listening."""
    underflows: int = 0
    """Times the audio ran dry (the buffer, or the device)."""
    skips_ms: float = 0.0
    """Audio dropped unplayed to catch up after a stall."""
    reconnects: int = 0
    tracks: tuple[TrackHealth, ...] = ()


@dataclass(frozen=True)
class Notice:
    """Something the supervisor should read that does not end the call."""

    text: str


@dataclass(frozen=True)
class HistoryLine:
    """One turn said before the observer joined, as the platform's transcript has it.

    The text is already made safe to show (`clean_text`) and cut to a bounded length."""

    role: Role
    text: str
    at: datetime | None = None
    """When it was said (UTC), if the platform said."""


@dataclass(frozen=True)
class CallContext:
    """What the platform knows of the call beyond the room: when it began, what was said.

    Fetched in the background once the listener token is granted, so it may arrive
    before or after LIVE (and again after a call process is replaced: the latest wins).
    A platform that does not share the transcript with this credential, or that fails
    to answer, gives `history_available=False` and no lines."""

    started_at: datetime | None
    """The conversation's `created_at` (UTC): the zero of "time into the call"."""
    history: tuple[HistoryLine, ...] = ()
    """Oldest first, at most `history.MAX_HISTORY_LINES` of the most recent."""
    history_available: bool = False
    history_omitted: int = 0
    """Older lines left out to keep the context within its bounds (0 almost always)."""


@dataclass(frozen=True)
class CallFailed:
    """The call could not be started; the panel closes with the error's exit code."""

    error: SnoopError


SessionEvent = StateChanged | TranscriptUpdated | SpeakersChanged | AudioChanged
CallEvent = SessionEvent | RoomAssigned | Notice | Health | CallFailed | CallContext


def supersedes(newer: CallEvent, older: CallEvent) -> bool:
    """Whether `newer` carries everything `older` did, so `older` need not be shown.

    Lets a flood of "latest state" events (interim text, speaker activity) collapse
    before it reaches the screen."""
    if isinstance(newer, (SpeakersChanged, Health)):
        return isinstance(older, type(newer))
    if isinstance(newer, TranscriptUpdated) and isinstance(older, TranscriptUpdated):
        return newer.segment.key == older.segment.key
    return False

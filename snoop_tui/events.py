"""What a listener session reports: a few small, typed events (no SDK types in them).

The session emits them; the app wraps each in a Textual message (see messages.py);
tests and benchmarks can consume them directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from snoop_tui.transcript import Role, TranscriptSegment


class CallState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    LEFT = "left"


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


SessionEvent = StateChanged | TranscriptUpdated | SpeakersChanged | AudioChanged

"""The transcript: segments keyed by id, interim versions replaced in place, finals kept once.

Pure data, no I/O. LiveKit Agents publish each segment as text streams sharing an
`lk.segment_id`: agent speech as one stream of appended chunks, caller speech as a
new stream carrying the whole text on every update. Either way, the latest
version of a segment is the whole text of its latest stream, so the model only
ever needs "replace segment X with this text"; the session does the assembling.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum

MAX_SEGMENT_CHARS = 8_000
"""A spoken segment is a sentence or a few; anything longer is cut with a marker."""


class Role(StrEnum):
    AGENT = "agent"
    CALLER = "caller"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"agent": "Agent", "caller": "Caller", "other": "Other"}[self.value]


@dataclass(frozen=True)
class TranscriptSegment:
    id: str
    role: Role
    speaker: str
    text: str
    final: bool
    order: int
    """Arrival rank: breaks ties, and orders segments with no sender time."""
    spoken_at: float = 0.0
    """When the sender started the segment (ms since the epoch; on arrival if unknown).

    Segments are shown in this order, so a burst delivered after an outage, whose
    streams can finish in any order, still reads as it was said."""
    owner: str = ""
    """Identity of the participant that sent it: one sender cannot overwrite another's segment."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.owner, self.id)

    @property
    def sort_key(self) -> tuple[float, int]:
        return (self.spoken_at, self.order)


_CONTROL_MAP = {c: chr(0x2400 + c) for c in range(0x20)} | {0x7F: "\u2421"}
_CONTROL_MAP |= {c: "\ufffd" for c in range(0x80, 0xA0)}
_CONTROL_MAP[ord("\n")] = " "
_CONTROL_MAP[ord("\t")] = " "
_CONTROL_MAP[ord("\r")] = " "


def clean_text(text: str) -> str:
    """Make outside text safe to show: control characters become visible symbols.

    An escape sequence such as OSC 52 (clipboard write) arrives as `ESC ] 52 ...`;
    mapping ESC to U+241B shows it literally instead of letting the terminal act on it.
    """
    cleaned = text.translate(_CONTROL_MAP)
    if len(cleaned) > MAX_SEGMENT_CHARS:
        cleaned = cleaned[:MAX_SEGMENT_CHARS] + " …[cut]"
    return cleaned


SegmentKey = tuple[str, str]


class Transcript:
    """Ordered segments; the single owner of ordering and de-duplication.

    The session builds segments with `update`; a view keeps its own copy with `put`
    and learns from it where each new segment goes."""

    def __init__(self) -> None:
        self._segments: dict[SegmentKey, TranscriptSegment] = {}
        self._order: list[tuple[tuple[float, int], SegmentKey]] = []
        """(sort_key, key) of every segment, kept sorted: a late segment goes in its place."""

    def update(
        self,
        segment_id: str,
        *,
        role: Role,
        speaker: str,
        text: str,
        final: bool,
        owner: str = "",
        spoken_at: float | None = None,
    ) -> TranscriptSegment | None:
        """Record a version of a segment; return it, or None when nothing changed.

        A final version is kept exactly once: later versions of a final segment
        (a repeated final, a late interim) are ignored.
        """
        text = clean_text(text)
        spoken_at = spoken_at if spoken_at else time.time() * 1000
        current = self._segments.get((owner, segment_id))
        if current is None:
            segment = TranscriptSegment(
                id=segment_id,
                role=role,
                speaker=clean_text(speaker),
                text=text,
                final=final,
                order=len(self._segments),
                owner=owner,
                spoken_at=spoken_at,
            )
        elif current.final or (current.text == text and current.final == final):
            return None
        else:
            segment = replace(current, text=text, final=final)
        self.put(segment)
        return segment

    def put(self, segment: TranscriptSegment) -> tuple[int, bool]:
        """Store a segment, or a newer version of one; return (its position, whether new).

        A segment keeps the place it was first given (its sort key never changes)."""
        current = self._segments.get(segment.key)
        if current is not None and current.sort_key != segment.sort_key:
            # A later version keeps its place: after a call process is replaced, the new
            # one numbers the segments it sees afresh.
            segment = replace(segment, order=current.order, spoken_at=current.spoken_at)
        self._segments[segment.key] = segment
        entry = ((current or segment).sort_key, segment.key)
        if current is not None:
            return bisect.bisect_left(self._order, entry), False
        index = bisect.bisect_left(self._order, entry)
        self._order.insert(index, entry)
        return index, True

    def __iter__(self) -> Iterator[TranscriptSegment]:
        return (self._segments[key] for _, key in self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._segments

    def __len__(self) -> int:
        return len(self._segments)

    def get(self, segment_id: str, owner: str = "") -> TranscriptSegment | None:
        return self._segments.get((owner, segment_id))

    def finals(self) -> list[TranscriptSegment]:
        return [s for s in self if s.final]

"""How a transcript segment reads as text: word wrap, the speaker's prefix, search
matches picked out, and one plain line for copying and saving.

The view (`transcript_view`) lays these out in cells; nothing here knows of Textual.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style

from snoop_tui.terminal_caps import UNICODE, Glyphs
from snoop_tui.transcript import Role, TranscriptSegment


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap to `width` cells; a word longer than a line is broken."""
    width = max(1, width)
    lines: list[str] = []
    line, used = "", 0
    for word in text.split(" "):
        size = cell_len(word)
        gap = 1 if line else 0
        if used + gap + size <= width:
            line, used = (f"{line} {word}" if gap else word), used + gap + size
            continue
        if line:
            lines.append(line)
        line, used = "", 0
        while size > width:  # a very long word: break it across lines
            cut, taken = _cut(word, width)
            lines.append(cut)
            word, size = word[len(cut) :], size - taken
        line, used = word, size
    lines.append(line)
    return lines


def _cut(word: str, width: int) -> tuple[str, int]:
    taken = 0
    for end, char in enumerate(word):
        size = cell_len(char)
        if taken + size > width:
            return word[:end] or word[:1], taken or size
        taken += size
    return word, taken


def highlighted(text: str, needle: str, style: Style, found: Style) -> list[Segment]:
    """`text` in `style`, with every case-insensitive occurrence of `needle` in `found`."""
    if not needle:
        return [Segment(text, style)]
    cells, start, lowered, wanted = [], 0, text.casefold(), needle.casefold()
    while (at := lowered.find(wanted, start)) >= 0:
        if at > start:
            cells.append(Segment(text[start:at], style))
        cells.append(Segment(text[at : at + len(needle)], found))
        start = at + len(needle)
    if start < len(text):
        cells.append(Segment(text[start:], style))
    return cells


def speaker_prefix(segment: TranscriptSegment) -> str:
    """Anyone but the agent and caller is "Other", with their identity beside the text."""
    return f"({segment.speaker}) " if segment.role is Role.OTHER else ""


def shown_text(segment: TranscriptSegment, shapes: Glyphs = UNICODE) -> str:
    mark = "" if segment.final else f" {shapes.ellipsis}"
    return f"{speaker_prefix(segment)}{segment.text}{mark}"


def plain(segment: TranscriptSegment) -> str:
    """One line of plain text for a segment ("Caller: …", "Other (id): …")."""
    if segment.role is Role.OTHER:
        return f"{segment.role.label} ({segment.speaker}): {segment.text}"
    return f"{segment.role.label}: {segment.text}"

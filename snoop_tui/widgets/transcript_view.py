"""The scrolling transcript: a line-API view whose cost does not grow with the call.

Like Textual's `Log`, it keeps data, not widgets: the `Transcript` model owns the
segments and their order, the view keeps each segment's wrapped height and first
line, and renders only the lines on screen (`render_line`), from a bounded cache of
rendered strips. A new or updated segment costs one wrap of that segment and, for a
late segment or a height change, a pass over the start offsets after it; a frame
costs the lines visible. Following: the view keeps to the end unless scrolled up.

Text from the call is written as plain cells, never parsed as markup, so `[red]`
or `[@click=app.quit]` in what someone said is shown as typed.
"""

from __future__ import annotations

from bisect import bisect_right

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.events import Resize
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from snoop_tui.terminal_caps import UNICODE, Glyphs
from snoop_tui.transcript import Role, SegmentKey, Transcript, TranscriptSegment

LABEL_WIDTH = 8
"""Cells for the speaker label ("Caller  "), the text starts after it."""
PLACEHOLDER = "Waiting for the conversation"
STRIP_CACHE = 1024
"""Rendered segments kept: a few screens' worth, whatever the call's length."""
_DIM = Style(dim=True)


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


class TranscriptView(ScrollView, can_focus=True):
    """The transcript, one segment per speaker turn, updated in place, in spoken order."""

    COMPONENT_CLASSES = {
        "transcript--agent",
        "transcript--caller",
        "transcript--other",
        "transcript--label",
        "transcript--interim",
        "transcript--placeholder",
    }

    def __init__(self, *, id: str | None = None, shapes: Glyphs = UNICODE) -> None:  # noqa: A002
        super().__init__(id=id)
        self.shapes = shapes
        self._model = Transcript()
        self._keys: list[SegmentKey] = []
        """Segment keys in the model's order."""
        self._heights: list[int] = []
        self._starts: list[int] = []
        """First virtual line of each segment (a running sum of the heights)."""
        self._width = 0
        """Text width (cells) the heights were wrapped for."""
        self._strips: LRUCache[SegmentKey, tuple[TranscriptSegment, list[Strip]]] = LRUCache(
            STRIP_CACHE
        )
        self._pending: dict[SegmentKey, TranscriptSegment] | None = {}
        """What arrived before mount (None once mounted)."""

    # what the panel calls -----------------------------------------------------

    def show_segment(self, segment: TranscriptSegment) -> None:
        if self._pending is not None:  # the call can speak before the view is mounted
            self._pending[segment.key] = segment
            return
        follow = self.following
        index, new = self._model.put(segment)
        height = self._height(segment)
        if new:
            self._keys.insert(index, segment.key)
            self._heights.insert(index, height)
            self._starts.insert(index, 0)
            self._restart_from(index)
        else:
            self._strips.discard(segment.key)
            if self._heights[index] == height:  # the usual interim update: repaint its lines
                self.refresh_lines(self._starts[index] - self.scroll_offset.y, height)
                return
            self._heights[index] = height
            self._restart_from(index)
        self._resize_virtual()
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    @property
    def following(self) -> bool:
        return self.scroll_offset.y >= self.max_scroll_y - 1

    def lines(self) -> list[str]:
        """What the transcript says, top to bottom, a line per segment (tests, copying)."""
        return [plain(segment) for segment in self._model]

    def segments(self) -> list[TranscriptSegment]:
        """The segments shown, top to bottom."""
        return list(self._model)

    def rendered(self, segment_id: str) -> list[str]:
        """The cells the terminal is given for a segment, line by line (tests)."""
        index = self._index_of(segment_id)
        return [strip.text for strip in self._segment_strips(index)]

    def first_line_of(self, segment_id: str) -> int:
        """The virtual line a segment starts on."""
        return self._starts[self._index_of(segment_id)]

    # layout --------------------------------------------------------------------

    def on_mount(self) -> None:
        self._width = self._text_width()
        pending, self._pending = self._pending, None
        for segment in (pending or {}).values():
            self.show_segment(segment)

    def on_resize(self, event: Resize) -> None:
        width = self._text_width()
        if width != self._width:  # a new width: every segment wraps anew
            self._width = width
            self._strips.clear()
            self._heights = [self._height(segment) for segment in self._model]
            self._restart_from(0)
            self._resize_virtual()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _text_width(self) -> int:
        return max(10, self.scrollable_content_region.width - LABEL_WIDTH)

    def _height(self, segment: TranscriptSegment) -> int:
        return len(wrap(shown_text(segment, self.shapes), self._width or 80))

    def _restart_from(self, index: int) -> None:
        starts, heights = self._starts, self._heights
        line = starts[index - 1] + heights[index - 1] if index > 0 else 0
        for i in range(index, len(heights)):
            starts[i] = line
            line += heights[i]

    def _total(self) -> int:
        return self._starts[-1] + self._heights[-1] if self._heights else 1

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self._total())

    def _index_of(self, segment_id: str) -> int:
        for index, key in enumerate(self._keys):
            if key[1] == segment_id:
                return index
        raise KeyError(segment_id)

    # rendering -----------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        blank = self.rich_style
        line = self.scroll_offset.y + y
        if not self._keys:
            if line == 0:
                style = blank + self.get_component_rich_style("transcript--placeholder")
                text = PLACEHOLDER + self.shapes.ellipsis
                return Strip([Segment(text, style)]).extend_cell_length(width, blank)
            return Strip.blank(width, blank)
        index = bisect_right(self._starts, line) - 1
        if index < 0 or line >= self._total():
            return Strip.blank(width, blank)
        strips = self._segment_strips(index)
        row = line - self._starts[index]
        return strips[row] if row < len(strips) else Strip.blank(width, blank)

    def _segment_strips(self, index: int) -> list[Strip]:
        key = self._keys[index]
        segment = self._model.get(key[1], key[0])
        assert segment is not None
        cached = self._strips.get(key)
        if cached is not None and cached[0] is segment:
            return cached[1]
        strips = self._render_segment(segment)
        self._strips[key] = (segment, strips)
        return strips

    def _render_segment(self, segment: TranscriptSegment) -> list[Strip]:
        role_style = self.rich_style + self.get_component_rich_style(
            f"transcript--{segment.role.value}", partial=True
        )
        label_style = role_style + self.get_component_rich_style("transcript--label", partial=True)
        text_style = role_style
        if not segment.final:
            text_style += self.get_component_rich_style("transcript--interim", partial=True)
        width = LABEL_WIDTH + self._width
        prefix = speaker_prefix(segment)
        mark = self.shapes.ellipsis
        strips = []
        for row, text in enumerate(wrap(shown_text(segment, self.shapes), self._width)):
            label = segment.role.label if row == 0 else ""
            cells = [Segment(label.ljust(LABEL_WIDTH), label_style)]
            if row == 0 and prefix and text.startswith(prefix.rstrip()):
                cells.append(Segment(text[: len(prefix)], text_style + _DIM))
                text = text[len(prefix) :]
            if not segment.final and text.endswith(mark):
                cells.append(Segment(text[: -len(mark)], text_style))
                cells.append(Segment(mark, text_style + _DIM))
            else:
                cells.append(Segment(text, text_style))
            strips.append(Strip(cells).extend_cell_length(width, text_style))
        return strips


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

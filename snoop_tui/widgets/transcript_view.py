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
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.events import Resize
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from snoop_tui.board_model import format_elapsed
from snoop_tui.terminal_caps import UNICODE, Glyphs
from snoop_tui.transcript import SegmentKey, Transcript, TranscriptSegment
from snoop_tui.widgets.transcript_text import highlighted, plain, shown_text, speaker_prefix, wrap

LABEL_WIDTH = 8
"""Cells for the speaker label ("Caller  "), the text starts after it."""
TIME_WIDTH = {"call": 6, "wall": 9}
"""Cells for the time ("03:12 ", or "14:05:09 " on the wall clock)."""
HISTORY = "@history"
"""Owner of the lines said before we joined (from the platform), shown dimmed."""
DIVIDER = "@divider"
"""Owner of the line between what was said before we joined and what we heard."""
PLACEHOLDER = "Waiting for the conversation"
STRIP_CACHE = 1024
"""Rendered segments kept: a few screens' worth, whatever the call's length."""
_DIM = Style(dim=True)


class TranscriptView(ScrollView, can_focus=True):
    """The transcript, one segment per speaker turn, updated in place, in spoken order."""

    COMPONENT_CLASSES = {
        "transcript--agent",
        "transcript--caller",
        "transcript--other",
        "transcript--label",
        "transcript--interim",
        "transcript--placeholder",
        "transcript--time",
        "transcript--history",
        "transcript--match",
        "transcript--current-match",
        "transcript--alert",
    }

    unseen: reactive[int] = reactive(0, repaint=False)
    """Segments that arrived while scrolled up (the "N new lines" marker)."""

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
        self.time_mode = "call"
        """"call" (time into the call) or "wall" (the local clock): `t` switches."""
        self.started_ms: float | None = None
        """When the call started (ms since the epoch): the platform's, or the first word."""
        self.search_text = ""
        self.matches: list[SegmentKey] = []
        self.match_index = -1
        self.alerts: dict[SegmentKey, str] = {}
        self._pinned = True
        """Following the end: new text scrolls into view (until the supervisor scrolls up)."""
        """Final segments that matched an alert phrase, and the phrase."""
        self._base_style: Style | None = None
        self._partial_styles: dict[str, Style] = {}
        """Styles kept until the next style update (see `base_style`, `component_style`)."""

    # what the panel calls -----------------------------------------------------

    def show_segment(self, segment: TranscriptSegment) -> None:
        if self._pending is not None:  # the call can speak before the view is mounted
            self._pending[segment.key] = segment
            return
        follow = self.following
        if self.started_ms is None and segment.owner != HISTORY:
            self.started_ms = segment.spoken_at  # until the platform says when it started
        index, new = self._model.put(segment)
        height = self._height(segment)
        if new and not follow:
            self.unseen += 1
        if new:
            self._keys.insert(index, segment.key)
            self._heights.insert(index, height)
            self._starts.insert(index, 0)
            self._restart_from(index)
        else:
            self._strips.discard(segment.key)
            if self._heights[index] == height:  # the usual interim update: repaint its lines
                self.refresh_lines(self._starts[index], height)  # virtual lines
                return
            self._heights[index] = height
            self._restart_from(index)
        self._resize_virtual()
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        self.refresh()

    def refresh_lines(self, y_start: int, line_count: int = 1) -> None:
        """Repaint virtual lines, short of the scrollbar: Textual's own refreshes the
        widget's whole width, so every interim update also rendered the scrollbar."""
        top = y_start - self.scroll_offset.y
        self.refresh(Region(0, top, self.scrollable_content_region.width, line_count))

    @property
    def following(self) -> bool:
        return self._pinned

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._pinned = new_value >= self.max_scroll_y
        if self.unseen and self._pinned:
            self.unseen = 0

    def jump_to_live(self) -> None:
        """Back to the end, following new text again."""
        self._pinned = True
        self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        self.unseen = 0

    def set_time_mode(self, mode: str) -> None:
        """Times into the call ("call") or on the local clock ("wall")."""
        if mode != self.time_mode:
            self.time_mode = mode
            self._rewrap()

    def set_started(self, started_ms: float | None) -> None:
        if started_ms is not None and started_ms != self.started_ms:
            self.started_ms = started_ms
            self._strips.clear()
            self.refresh()

    def mark_alert(self, segment: TranscriptSegment, phrase: str) -> None:
        self.alerts[segment.key] = phrase
        self._strips.discard(segment.key)
        self.refresh()

    # search ---------------------------------------------------------------------

    def search(self, text: str) -> int:
        """Highlight `text` everywhere (case-insensitive); return how many segments match."""
        self.search_text = text
        needle = text.casefold()
        self.matches = [s.key for s in self._model if needle in s.text.casefold()] if needle else []
        self.match_index = -1
        self._strips.clear()
        self.refresh()
        return len(self.matches)

    def next_match(self, step: int = 1) -> SegmentKey | None:
        """Go to the next (or previous) match, wrapping around; scroll it into view."""
        if not self.matches:
            return None
        self.match_index = (self.match_index + step) % len(self.matches)
        key = self.matches[self.match_index]
        self.scroll_to_segment(key)
        self._strips.clear()
        self.refresh()
        return key

    def scroll_to_segment(self, key: SegmentKey) -> None:
        index = self._keys.index(key)
        top = self._starts[index]
        height = self.scrollable_content_region.height
        self.scroll_to(y=max(0, top - height // 3), animate=False, immediate=True)

    def segment_for(self, key: SegmentKey) -> TranscriptSegment | None:
        return self._model.get(key[1], key[0])

    def lines(self) -> list[str]:
        """What was heard on the call, top to bottom, a line per segment."""
        return [plain(segment) for segment in self.segments()]

    def segments(self) -> list[TranscriptSegment]:
        """The segments heard on the call, top to bottom (not the history or its divider)."""
        return [segment for segment in self._model if not segment.owner.startswith("@")]

    def all_segments(self) -> list[TranscriptSegment]:
        """Everything shown, history and divider included, top to bottom."""
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
        if self._text_width() != self._width:  # a new width: every segment wraps anew
            self._rewrap()

    def _rewrap(self) -> None:
        pinned = self._pinned
        self._width = self._text_width()
        self._strips.clear()
        self._heights = [self._height(segment) for segment in self._model]
        if self._heights:
            self._restart_from(0)
        self._resize_virtual()
        if pinned:  # a new width (or the first layout) keeps a follower at the end
            self.jump_to_live()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._base_style = None
        self._partial_styles.clear()

    @property
    def base_style(self) -> Style:
        """`rich_style` (which walks the ancestors for the background), once per style update."""
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style

    def component_style(self, name: str) -> Style:
        """A component class's partial style, once per style update. (Textual's own cache
        is emptied by every refresh, so an interim update would compute each one again.)"""
        style = self._partial_styles.get(name)
        if style is None:
            style = self._partial_styles[name] = self.get_component_rich_style(name, partial=True)
        return style

    @property
    def text_column(self) -> int:
        """Cells before the text: the time and the speaker."""
        return TIME_WIDTH[self.time_mode] + LABEL_WIDTH

    def _text_width(self) -> int:
        return max(10, self.scrollable_content_region.width - self.text_column)

    def _height(self, segment: TranscriptSegment) -> int:
        if segment.owner == DIVIDER:
            return 1
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
        size = Size(self.scrollable_content_region.width, self._total())
        if size == self.virtual_size:
            return
        # Setting `virtual_size` lays out the whole screen, for every new line of a long
        # call. A scroll view keeps its own virtual size, and only its scrollbars depend on
        # it: they are updated here, and lay the screen out themselves when they appear.
        self.set_reactive(Widget.virtual_size, size)
        self._scroll_update(size)

    def _index_of(self, segment_id: str) -> int:
        for index, key in enumerate(self._keys):
            if key[1] == segment_id:
                return index
        raise KeyError(segment_id)

    # rendering -----------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        blank = self.base_style
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
        style = self.component_style
        base = self.base_style
        width = self.text_column + self._width
        if segment.owner == DIVIDER:  # a rule with a word in it, never wrapped
            rule = "─" if self.shapes.unicode else "-"
            text = f" {segment.text} ".center(width, rule)[:width]
            dim = base + style("transcript--time")
            return [Strip([Segment(text, dim)]).extend_cell_length(width, dim)]
        role_style = base + style(f"transcript--{segment.role.value}")
        if segment.owner == HISTORY:
            role_style += style("transcript--history")
        label_style = role_style + style("transcript--label")
        text_style = role_style
        if not segment.final:
            text_style += style("transcript--interim")
        if segment.key in self.alerts:
            text_style += style("transcript--alert")
            label_style += style("transcript--alert")
        time_style = base + style("transcript--time")
        current = self.matches[self.match_index] == segment.key if self.match_index >= 0 else False
        found = style("transcript--current-match" if current else "transcript--match")
        prefix = speaker_prefix(segment)
        mark = self.shapes.ellipsis
        strips = []
        for row, text in enumerate(wrap(shown_text(segment, self.shapes), self._width)):
            stamp = self.time_of(segment) if row == 0 else ""
            label = segment.role.label if row == 0 else ""
            cells = [
                Segment(stamp.ljust(TIME_WIDTH[self.time_mode]), time_style),
                Segment(label.ljust(LABEL_WIDTH), label_style),
            ]
            if row == 0 and prefix and text.startswith(prefix.rstrip()):
                cells.append(Segment(text[: len(prefix)], text_style + _DIM))
                text = text[len(prefix) :]
            tail = ""
            if not segment.final and text.endswith(mark):
                text, tail = text[: -len(mark)], mark
            cells.extend(highlighted(text, self.search_text, text_style, text_style + found))
            if tail:
                cells.append(Segment(tail, text_style + _DIM))
            strips.append(Strip(cells).extend_cell_length(width, text_style))
        return strips

    def time_of(self, segment: TranscriptSegment) -> str:
        """When it was said: into the call ("03:12") or on the local clock ("14:05:09")."""
        if self.time_mode == "wall":
            return datetime.fromtimestamp(segment.spoken_at / 1000).strftime("%H:%M:%S")
        if segment.owner == HISTORY and self.started_ms is None:
            return ""
        return format_elapsed((segment.spoken_at - (self.started_ms or segment.spoken_at)) / 1000)

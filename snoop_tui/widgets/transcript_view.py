"""The scrolling transcript: one line per segment, updated in place, following new text.

Text from the call is shown as plain `rich.text.Text`, never parsed as markup, so
`[red]` or `[@click=app.quit]` in what someone said is shown as typed.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from snoop_tui.transcript import Role, TranscriptSegment

_LABEL_WIDTH = 8


class SegmentLine(Static):
    """One segment: a speaker label and the text, dimmed while it is interim."""

    def __init__(self, segment: TranscriptSegment) -> None:
        super().__init__(classes=f"segment -{segment.role.value}")
        self.segment = segment
        self.show(segment)

    def show(self, segment: TranscriptSegment) -> None:
        self.segment = segment
        self.set_class(not segment.final, "-interim")
        text = Text()
        if segment.role is Role.OTHER:
            text.append(f"({segment.speaker}) ", style="dim")
        text.append(segment.text)
        if not segment.final:
            text.append(" …", style="dim")
        row = Table.grid(expand=True)
        row.add_column(width=_LABEL_WIDTH, no_wrap=True)
        row.add_column(ratio=1)
        row.add_row(Text(self.label, style="bold"), text)
        self.update(row)

    @property
    def label(self) -> str:
        """Agent or Caller only for those roles; anyone else is "Other", whatever their
        identity says (an identity named "Agent" must not pass for the agent)."""
        return self.segment.role.label

    @property
    def plain(self) -> str:
        if self.segment.role is Role.OTHER:
            return f"{self.label} ({self.segment.speaker}): {self.segment.text}"
        return f"{self.label}: {self.segment.text}"


class TranscriptView(VerticalScroll):
    """Keeps one `SegmentLine` per segment id; follows the end unless scrolled up."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._lines: dict[tuple[str, str], SegmentLine] = {}
        self._pending: dict[tuple[str, str], TranscriptSegment] = {}
        self._placeholder = Static("Waiting for the conversation…", classes="placeholder")

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._placeholder

    @property
    def following(self) -> bool:
        return self.scroll_offset.y >= self.max_scroll_y - 1

    def on_mount(self) -> None:
        for segment in self._pending.values():
            self.show_segment(segment)
        self._pending.clear()

    def show_segment(self, segment: TranscriptSegment) -> None:
        if not self.is_mounted:  # the call can speak before the panel has finished mounting
            self._pending[segment.key] = segment
            return
        follow = self.following
        line = self._lines.get(segment.key)
        if line is None:
            if self._placeholder.parent is not None:
                self._placeholder.remove()
            line = SegmentLine(segment)
            self._lines[segment.key] = line
            later = self._first_line_after(segment)
            if later is None:
                self.mount(line)
            else:  # a segment that was said earlier but arrived late goes in its place
                self.mount(line, before=later)
        else:
            line.show(segment)
        if follow:
            self.call_after_refresh(self.scroll_end, animate=False)

    def _first_line_after(self, segment: TranscriptSegment) -> SegmentLine | None:
        """The earliest shown line said after `segment` (usually none: it goes last)."""
        later = None
        for line in reversed(list(self.query_children(SegmentLine))):
            if line.segment.sort_key <= segment.sort_key:
                break
            later = line
        return later

    def lines(self) -> list[str]:
        """What the transcript shows, top to bottom, for tests and copying."""
        return [line.plain for line in self.query_children(SegmentLine)]

    def segments(self) -> list[TranscriptSegment]:
        """The segments shown, top to bottom."""
        return [line.segment for line in self.query_children(SegmentLine)]

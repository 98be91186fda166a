"""The scrolling transcript: one line per segment, updated in place, following new text.

Text from the call is shown as plain `rich.text.Text`, never parsed as markup, so
`[red]` or `[@click=app.quit]` in what someone said is shown as typed.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from snoop_tui.transcript import Role, SegmentKey, Transcript, TranscriptSegment

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
    """Keeps one `SegmentLine` per segment, in the order its `Transcript` gives.

    Follows the end unless scrolled up. Segments that arrive before the view is
    mounted wait and are shown on mount."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._model = Transcript()
        self._lines: dict[SegmentKey, SegmentLine] = {}
        self._pending: dict[SegmentKey, TranscriptSegment] | None = {}
        """What arrived before mount (None once mounted)."""
        self._placeholder = Static("Waiting for the conversation…", classes="placeholder")

    def compose(self) -> ComposeResult:
        yield self._placeholder

    @property
    def following(self) -> bool:
        return self.scroll_offset.y >= self.max_scroll_y - 1

    def on_mount(self) -> None:
        pending, self._pending = self._pending, None
        for segment in (pending or {}).values():
            self._place(segment)

    def show_segment(self, segment: TranscriptSegment) -> None:
        if self._pending is not None:  # the call can speak before the view is mounted
            self._pending[segment.key] = segment
        else:
            self._place(segment)

    def _place(self, segment: TranscriptSegment) -> None:
        follow = self.following
        index, new = self._model.put(segment)
        if new:
            self._placeholder.display = False
            line = SegmentLine(segment)
            self._lines[segment.key] = line
            if index == len(self._lines) - 1:
                self.mount(line)
            else:  # said earlier but arrived late: it goes in its place (after the placeholder)
                self.mount(line, before=index + 1)
        else:
            self._lines[segment.key].show(segment)
        if follow:
            self.call_after_refresh(self.scroll_end, animate=False)

    def lines(self) -> list[str]:
        """What the transcript shows, top to bottom, for tests and copying."""
        return [self._lines[segment.key].plain for segment in self._model]

    def segments(self) -> list[TranscriptSegment]:
        """The segments shown, top to bottom."""
        return list(self._model)

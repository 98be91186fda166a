"""The board's list of live calls: one line per call, only the visible ones rendered.

A line-API `ScrollView`, like the transcript: it keeps the rows, not a widget per
row, and renders each visible line when asked, so 500 calls cost what a screenful
does, and the ticking "time into the call" costs one repaint of the visible lines a
second. The highlighted row follows its call (by id) across refreshes; ended calls
stay, dimmed, until the model forgets them, so nothing jumps away under the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from snoop_tui.board_model import BoardRow, time_into_call
from snoop_tui.terminal_caps import UNICODE, Glyphs


def status_label(status: str, ended: bool, shapes: Glyphs = UNICODE) -> str:
    if ended:
        return f"{shapes.ended_row} ended"
    waiting = {"ringing": "ringing", "triggered": "dialling", "token_created": "starting"}
    if status in waiting:
        return f"{shapes.connecting} {waiting[status]}"
    return f"{shapes.live} in progress" if status == "in_progress" else status


UNKNOWN = "—"


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    priority: int
    """Columns are dropped from the highest number down when the terminal is narrow."""


COLUMNS = (
    Column("Status", 13, 0),
    Column("Agent", 17, 1),
    Column("Caller", 16, 2),
    Column("Number", 13, 5),
    Column("Channel", 9, 7),
    Column("Direction", 9, 6),
    Column("Time", 8, 3),
    Column("", 16, 4),
)


def columns_for(width: int) -> tuple[Column, ...]:
    """The columns that fit in `width` cells, most important first to stay."""
    shown = list(COLUMNS)
    while len(shown) > 1 and sum(c.width + 1 for c in shown) - 1 > width:
        shown.remove(max(shown, key=lambda c: c.priority))
    return tuple(shown)


def header_line(columns: tuple[Column, ...] = COLUMNS) -> str:
    return " ".join(column.title.ljust(column.width) for column in columns).rstrip()


def row_cells(
    row: BoardRow, now: datetime, shapes: Glyphs = UNICODE, alert: str | None = None
) -> dict[str, str]:
    call = row.call
    status = status_label(call.status, row.ended, shapes)
    note = ""
    if alert is not None:
        note = f"! {alert}"
    elif row.ended:
        note = "ended"
    elif call.not_listenable_reason:
        note = f"no audio ({call.channel})"
    elif row.is_new:
        note = "new"
    return {
        "Status": status,
        "Agent": call.agent_name or UNKNOWN,
        "Caller": call.caller or UNKNOWN,
        "Number": call.agent_number or UNKNOWN,
        "Channel": call.channel or UNKNOWN,
        "Direction": call.direction or UNKNOWN,
        "Time": time_into_call(call.created_at, now) or UNKNOWN,
        "": note,
    }


def row_text(
    row: BoardRow,
    now: datetime,
    columns: tuple[Column, ...] = COLUMNS,
    shapes: Glyphs = UNICODE,
    alert: str | None = None,
) -> str:
    """The row as plain text, columns padded (also what tests and screen readers read)."""
    cells = row_cells(row, now, shapes, alert)
    return " ".join(set_cell_size(cells[c.title], c.width) for c in columns).rstrip()


class CallList(ScrollView, can_focus=True):
    """The live calls; Enter asks to open the highlighted one."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False, key_display="↑ / k"),
        Binding("down,j", "move(1)", "Down", show=False, key_display="↓ / j"),
        Binding("pageup", "page(-1)", "Page up", show=False, key_display="PgUp"),
        Binding("pagedown", "page(1)", "Page down", show=False, key_display="PgDn"),
        Binding("home", "first", "First", show=False, key_display="Home"),
        Binding("end", "last", "Last", show=False, key_display="End"),
    ]
    COMPONENT_CLASSES = {
        "call-list--cursor",
        "call-list--new",
        "call-list--ended",
        "call-list--disabled",
        "call-list--alert",
    }

    class Chosen(Message):
        """The supervisor asked to open this call."""

        def __init__(self, row: BoardRow) -> None:
            super().__init__()
            self.row = row

    cursor: reactive[int] = reactive(0, repaint=False)

    class Resized(Message):
        """The list's width changed: the header shows the columns that now fit."""

        def __init__(self, columns: tuple[Column, ...]) -> None:
            super().__init__()
            self.columns = columns

    def __init__(self, *, id: str | None = None, shapes: Glyphs = UNICODE) -> None:  # noqa: A002
        super().__init__(id=id)
        self.shapes = shapes
        self.rows: list[BoardRow] = []
        self.alerts: dict[str, str] = {}
        """Calls in which an alert phrase was said while you listened, and the phrase."""
        self._now = datetime.now(UTC)

    @property
    def highlighted(self) -> BoardRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def show(self, rows: list[BoardRow], now: datetime) -> None:
        """New rows; the cursor stays on the call it was on (or the nearest place)."""
        current = self.highlighted
        self.rows = rows
        self._now = now
        if current is not None:
            index = next((i for i, row in enumerate(rows) if row.id == current.id), None)
            self.cursor = index if index is not None else min(self.cursor, len(rows) - 1)
        self.cursor = max(0, min(self.cursor, len(rows) - 1))
        self.virtual_size = Size(self.scrollable_content_region.width, len(rows))
        self.refresh()

    def on_resize(self) -> None:
        self.post_message(self.Resized(columns_for(self.scrollable_content_region.width)))

    def tick(self, now: datetime) -> None:
        """A second passed: the visible times move on (a repaint, nothing more)."""
        self._now = now
        self.refresh()

    def watch_cursor(self, old: int, cursor: int) -> None:
        top = self.scroll_offset.y
        self.scroll_to_region_of(cursor)
        if self.scroll_offset.y != top:
            self.refresh()
        else:  # only the two lines whose highlight changed (virtual line numbers)
            self.refresh_lines(old)
            self.refresh_lines(cursor)

    def scroll_to_region_of(self, index: int) -> None:
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif height and index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True)

    def action_move(self, step: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + step))

    def action_page(self, step: int) -> None:
        self.action_move(step * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(0, len(self.rows) - 1)

    def action_choose(self) -> None:
        if self.highlighted is not None:
            self.post_message(self.Chosen(self.highlighted))

    def on_click(self, event: object) -> None:
        offset = getattr(event, "y", None)
        if isinstance(offset, int):
            index = self.scroll_offset.y + offset
            if 0 <= index < len(self.rows):
                self.cursor = index

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        base = self.rich_style
        if index >= len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        style = base
        if row.ended:
            style += self.get_component_rich_style("call-list--ended", partial=True)
        elif not row.listenable:
            style += self.get_component_rich_style("call-list--disabled", partial=True)
        elif row.is_new:
            style += self.get_component_rich_style("call-list--new", partial=True)
        alert = self.alerts.get(row.id)
        if alert is not None:
            style += self.get_component_rich_style("call-list--alert", partial=True)
        if index == self.cursor:
            style += self.get_component_rich_style("call-list--cursor", partial=True)
        text = row_text(row, self._now, columns_for(width), self.shapes, alert)
        if cell_len(text) > width:
            text = set_cell_size(text, width)
        return Strip([Segment(text, style)]).extend_cell_length(width, style)

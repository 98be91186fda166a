"""The live call board: the organization's live calls, refreshed, filtered, opened.

The screen asks its `LiveCalls` source for the listing every few seconds in a
worker (a refresh never blocks typing), feeds it to the pure `Board` model, and
shows the model's rows in a `CallList`. A failed refresh keeps the last good list,
marks it stale with its age and says what is wrong in one line, retrying with
backoff. Enter asks the app to open the highlighted call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Static

from snoop_tui.board_model import Board, BoardRow, ConversationSummary
from snoop_tui.errors import SnoopError
from snoop_tui.screens.compositor import CroppedCompositor
from snoop_tui.screens.help import BOARD_NOTES, HelpScreen
from snoop_tui.terminal_caps import glyphs
from snoop_tui.widgets.call_list import CallList, header_line
from snoop_tui.widgets.key_hints import KeyHints

log = logging.getLogger(__name__)

LiveCalls = Callable[[], Awaitable[list[ConversationSummary]]]
"""Where the board's listing comes from (the platform client, or a test's script)."""
MAX_BACKOFF = 60.0


class BoardStatus(Widget):
    """One line: how many calls are live, when the list was last refreshed, what is wrong."""

    live: reactive[int] = reactive(0)
    shown: reactive[int] = reactive(0)
    refreshed_at: reactive[datetime | None] = reactive(None)
    problem: reactive[str] = reactive("", layout=True)
    now: reactive[datetime] = reactive(lambda: datetime.now(UTC))

    def render(self) -> Text:
        line = Text()  # a problem's message wraps rather than being cut
        line.append("Live calls ", style="bold")
        line.append(f"{self.live}")
        if self.shown != self.live:
            line.append(f" · {self.shown} shown", style="dim")
        if self.refreshed_at is None:
            line.append(" · loading…", style="dim")
            return line
        local = self.refreshed_at.astimezone().strftime("%H:%M:%S")
        if self.problem:
            age = int((self.now - self.refreshed_at).total_seconds())
            line.append(f" · stale: last updated {local} ({age} s ago) · ", style="bold")
            line.append(self.problem)
        else:
            line.append(f" · updated {local}", style="dim")
        return line


class BoardScreen(Screen[None]):
    """The live calls; the app opens a panel on the one chosen."""

    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Listen in on the highlighted call"),
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            tooltip="Filter by agent, caller or number",
        ),
        Binding("r", "refresh_now", "Refresh", tooltip="Refresh the list now"),
        Binding("question_mark,h,f1", "help", "Help", key_display="?", tooltip="This help"),
        Binding("q", "quit_board", "Quit", tooltip="Quit snoop-tui"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    class Unavailable(Message):
        """The first listing failed: there is no board to show."""

        def __init__(self, error: SnoopError) -> None:
            super().__init__()
            self.error = error

    class Open(Message):
        """Open the panel on this call."""

        def __init__(self, conversation_id: str) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    def __init__(
        self,
        live_calls: LiveCalls,
        *,
        refresh_seconds: float = 3.0,
        board: Board | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__()
        self._compositor = CroppedCompositor()  # renders only the widgets under a change
        self._clock = clock
        self._close = close
        self._live_calls = live_calls
        self.refresh_seconds = refresh_seconds
        self.board = board or Board()
        self._failures = 0
        self._loaded = False
        self._next: Timer | None = None
        self.calls = CallList(id="calls", shapes=glyphs())

    def compose(self) -> ComposeResult:
        yield BoardStatus(id="board-status")
        yield Static(id="board-message")
        yield Input(placeholder="Filter by agent, caller or number", id="filter")
        yield Static(Text(header_line(), style="bold"), id="board-header")
        yield self.calls
        yield Static(id="board-empty")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#board-message", Static).display = False
        self._show_rows()
        self.set_interval(1.0, self._tick)
        self.calls.focus()
        self.refresh_calls()

    async def on_unmount(self) -> None:
        if self._close is not None:  # the listing's connections
            await self._close()

    # refreshing ----------------------------------------------------------------

    @work(exclusive=True, group="refresh", exit_on_error=False)
    async def refresh_calls(self) -> None:
        """Fetch the listing; schedule the next refresh (sooner on success)."""
        if self._next is not None:
            self._next.stop()
        try:
            calls = await self._live_calls()
        except SnoopError as error:
            self._refresh_failed(error)
        else:
            self._failures = 0
            self._loaded = True
            self.board.update(calls)
            status = self.query_one(BoardStatus)
            status.refreshed_at = status.now = self._clock()
            status.problem = ""
            self._show_rows()
        delay = min(MAX_BACKOFF, self.refresh_seconds * 2**self._failures)
        self._next = self.set_timer(delay, self.refresh_calls)

    def _refresh_failed(self, error: SnoopError) -> None:
        log.info("board refresh failed: %s", error)
        if not self._loaded:  # nothing to show yet: end as `watch` would
            self.post_message(self.Unavailable(error))
            return
        self._failures += 1
        retry = min(MAX_BACKOFF, self.refresh_seconds * 2**self._failures)
        self.query_one(
            BoardStatus
        ).problem = f"{error.title}: {error.message} Retrying in {retry:.0f} s."

    def _tick(self) -> None:
        now = self._clock()
        self.query_one(BoardStatus).now = now
        if self.board.rows() != self.calls.rows:  # new marks and ended rows expire
            self._show_rows()
        else:
            self.calls.tick(now)

    def _show_rows(self) -> None:
        rows = self.board.rows()
        now = self._clock()
        self.calls.show(rows, now)
        status = self.query_one(BoardStatus)
        status.live = self.board.live_count
        status.shown = sum(1 for row in rows if not row.ended)
        empty = self.query_one("#board-empty", Static)
        if rows or not self._loaded:
            empty.display = False
            return
        empty.display = True
        if self.board.filter_text:
            empty.update(Text(f'No live call matches "{self.board.filter_text}".'))
        else:
            stamp = now.astimezone().strftime("%H:%M:%S")
            empty.update(Text(f"No live calls right now (checked at {stamp})."))

    # keys ------------------------------------------------------------------------

    def action_help(self) -> None:
        bindings = [*self.BINDINGS, *CallList.BINDINGS]
        self.app.push_screen(HelpScreen("Keys on the board", bindings, BOARD_NOTES))

    def action_open(self) -> None:
        self.calls.action_choose()

    def action_refresh_now(self) -> None:
        self.refresh_calls()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.calls.focus()

    def action_quit_board(self) -> None:
        self.app.exit(return_code=0)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.board.filter_text = event.value
        self._show_rows()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.calls.focus()

    @on(CallList.Resized)
    def _columns_changed(self, event: CallList.Resized) -> None:
        header = self.query_one("#board-header", Static)
        header.update(Text(header_line(event.columns), style="bold"))

    @on(CallList.Chosen)
    def _chosen(self, event: CallList.Chosen) -> None:
        row: BoardRow = event.row
        reason = "The call has ended." if row.ended else row.call.not_listenable_reason
        if reason is not None:
            self.show_problem(f"Cannot listen to this call: {reason}")
            return
        self.show_problem("")
        self.post_message(self.Open(row.id))

    def show_problem(self, text: str) -> None:
        """One line above the list (why a call could not be opened); empty hides it."""
        message = self.query_one("#board-message", Static)
        message.update(Text(text))
        message.display = bool(text)

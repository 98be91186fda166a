"""The transcript and its tools: history, times, following, search, alerts, copy, save.

`TranscriptPane` wraps the line-API `TranscriptView` with the lines around it: the
"N new lines" marker under it, the search bar, and the alert line. It decides what
each segment means for the supervisor (a repeat of the history: dropped; a final
one that says an alert phrase: marked, counted, rung); the view only draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Click
from textual.reactive import reactive
from textual.widgets import Input, Static

from snoop_tui.alerts import AlertWatch
from snoop_tui.events import CallContext, HistoryLine
from snoop_tui.history import is_repeat
from snoop_tui.terminal_caps import UNICODE, Glyphs
from snoop_tui.transcript import Role, SegmentKey, TranscriptSegment
from snoop_tui.transcript_export import save_transcript
from snoop_tui.widgets.transcript_text import plain
from snoop_tui.widgets.transcript_view import DIVIDER, HISTORY, TranscriptView


@dataclass(frozen=True)
class TranscriptOptions:
    """What the supervisor configured for the transcript (from Settings)."""

    alerts: tuple[str, ...] = ()
    bell: bool = True
    save_dir: str | None = None
    save_on_close: bool = False


@dataclass
class AlertSeen:
    phrase: str
    key: SegmentKey
    role: Role
    at: str


class NewLines(Static):
    """ "3 new lines ↓": shown while scrolled up and more is said; click or End to follow."""

    count: reactive[int] = reactive(0)

    def __init__(self, shapes: Glyphs, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.shapes = shapes

    def watch_count(self, count: int) -> None:
        self.display = count > 0
        arrow = "↓" if self.shapes.unicode else "v"
        lines = "line" if count == 1 else "lines"
        self.update(Text(f"{count} new {lines} {arrow}  (End: back to live)"))


@dataclass
class _State:
    history: tuple[HistoryLine, ...] = ()
    alerts_seen: list[AlertSeen] = field(default_factory=list)
    alert_index: int = -1


class TranscriptPane(Vertical):
    """The transcript with its tools; the panel screen binds the keys to its methods."""

    def __init__(
        self,
        conversation_id: str,
        options: TranscriptOptions | None = None,
        *,
        shapes: Glyphs = UNICODE,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.conversation_id = conversation_id
        self.options = options or TranscriptOptions()
        self.alert_watch = AlertWatch(self.options.alerts)
        self.view = TranscriptView(id="transcript", shapes=shapes)
        self.new_lines = NewLines(shapes, id="new-lines")
        self._state = _State()
        self._call_context: CallContext | None = None
        self._joined_ms: float | None = None

    def compose(self) -> ComposeResult:
        yield self.view
        yield self.new_lines
        with Horizontal(id="search"):
            yield Input(placeholder="Search the whole call", id="search-input")
            yield Static(id="search-count")
        yield Static(id="alert-line")

    def on_mount(self) -> None:
        self.query_one("#search").display = False
        self.query_one("#alert-line").display = False
        self.new_lines.display = False
        self.watch(self.view, "unseen", self._unseen_changed, init=False)

    def _unseen_changed(self, count: int) -> None:
        self.new_lines.count = count

    # what the call says --------------------------------------------------------

    def show_segment(self, segment: TranscriptSegment) -> None:
        if self._joined_ms is None:
            self._joined_ms = segment.spoken_at
        if self._state.history and is_repeat(self._state.history, segment):
            return  # the platform's transcript already shows it
        self.view.show_segment(segment)
        if segment.final and segment.key not in self.view.alerts:
            phrase = self.alert_watch.match(segment.text)
            if phrase is not None:
                self._alert(segment, phrase)

    def show_context(self, context: CallContext) -> None:
        """When the call started, and what was said before we joined (once)."""
        if context.started_at is not None:
            self.view.set_started(context.started_at.timestamp() * 1000)
        if self._call_context is not None:
            return  # a replaced call process fetched it again: already shown
        self._call_context = context
        heard = self.view.segments()
        history = tuple(  # what we already heard live is not shown twice
            line for line in context.history if not any(is_repeat((line,), s) for s in heard)
        )
        self._state.history = context.history
        base = self.view.started_ms or (self._joined_ms or 0.0)
        for n, line in enumerate(history):
            at = line.at.timestamp() * 1000 if line.at is not None else base + n
            self.view.show_segment(
                TranscriptSegment(
                    id=f"h{n}",
                    role=line.role,
                    speaker=line.role.label,
                    text=line.text,
                    final=True,
                    order=-len(context.history) + n,
                    spoken_at=at,
                    owner=HISTORY,
                )
            )
        if context.history:
            note = (
                "before you joined ↑ · live ↓" if self.view.shapes.unicode else "before you joined"
            )
        elif context.history_available:
            note = "nothing was said before you joined"
        else:
            note = "no transcript from before you joined (not shared with this credential)"
        last = max(
            (s.spoken_at for s in self.view.all_segments() if s.owner == HISTORY), default=0.0
        )
        joined = self._joined_ms if self._joined_ms is not None else last + 1
        self.view.show_segment(
            TranscriptSegment(
                id="divider",
                role=Role.OTHER,
                speaker="",
                text=note,
                final=True,
                order=-1,
                spoken_at=min(joined - 0.5, last + 0.5) if context.history else joined - 0.5,
                owner=DIVIDER,
            )
        )

    # alerts --------------------------------------------------------------------

    def _alert(self, segment: TranscriptSegment, phrase: str) -> None:
        self.view.mark_alert(segment, phrase)
        seen = AlertSeen(phrase, segment.key, segment.role, self.view.time_of(segment))
        self._state.alerts_seen.append(seen)
        count = len(self._state.alerts_seen)
        line = self.query_one("#alert-line", Static)
        line.update(
            Text.assemble(
                ("Alerts ", "bold"),
                f"{count} · latest: ",
                (f"{phrase} · {segment.role.label.lower()} · {seen.at}", "bold"),
                ("  (a: next alert)", "dim"),
            )
        )
        line.display = True
        if self.options.bell:
            self.app.bell()

    @property
    def alerts_seen(self) -> list[AlertSeen]:
        return list(self._state.alerts_seen)

    def next_alert(self) -> AlertSeen | None:
        seen = self._state.alerts_seen
        if not seen:
            return None
        self._state.alert_index = (self._state.alert_index + 1) % len(seen)
        alert = seen[self._state.alert_index]
        self.view.scroll_to_segment(alert.key)
        return alert

    # search --------------------------------------------------------------------

    @property
    def searching(self) -> bool:
        return bool(self.query_one("#search").display)

    def open_search(self) -> None:
        self.query_one("#search").display = True
        self.query_one("#search-input", Input).focus()

    def close_search(self) -> None:
        box = self.query_one("#search-input", Input)
        box.value = ""
        self.query_one("#search").display = False
        self.view.search("")
        self.view.focus()

    @on(Input.Changed, "#search-input")
    def _typed(self, event: Input.Changed) -> None:
        count = self.view.search(event.value)
        self._show_count(count)

    @on(Input.Submitted, "#search-input")
    def _submitted(self) -> None:
        self.find(1)
        self.view.focus()

    def find(self, step: int) -> None:
        """The next (1) or previous (-1) match."""
        self.view.next_match(step)
        self._show_count(len(self.view.matches))

    def _show_count(self, count: int) -> None:
        label = self.query_one("#search-count", Static)
        if not self.view.search_text:
            label.update("")
        elif not count:
            label.update(Text(" no match", style="bold"))
        elif self.view.match_index < 0:
            label.update(Text(f" {count} match{'es' if count != 1 else ''}"))
        else:
            label.update(Text(f" {self.view.match_index + 1} of {count}", style="bold"))

    # copy and save ----------------------------------------------------------------

    def line_to_copy(self) -> str | None:
        """The current search match, or else the last final line."""
        view = self.view
        if view.match_index >= 0:
            segment = view.segment_for(view.matches[view.match_index])
            return plain(segment) if segment is not None else None
        finals = [s for s in view.segments() if s.final]
        return plain(finals[-1]) if finals else None

    def save(self, where: str | None = None) -> tuple[Path, Path]:
        """Save what the transcript holds now; raises `SnoopError` naming the path."""
        live = self.view.segments()
        started = self._call_context.started_at if self._call_context is not None else None
        if started is None and self.view.started_ms is not None:
            started = datetime.fromtimestamp(self.view.started_ms / 1000).astimezone()
        return save_transcript(
            live,
            where if where is not None else self.options.save_dir,
            conversation_id=self.conversation_id,
            started_at=started,
            history=self._state.history,
        )

    def on_click(self, event: Click) -> None:
        if event.widget is self.new_lines:
            self.view.jump_to_live()

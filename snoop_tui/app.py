"""The Textual app: the board of live calls, or a panel on one call.

Thin by design. Each panel screen owns its call (keys become its commands, its
events set the panel's state); the board screen owns its listing. The app only
routes: opening a call from the board pushes a panel, and a panel that closes
goes back to the board (saying why, if the call could not be opened) or, when
the app was started on one call, ends the app. It never touches the SDK, the
audio device or the network.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from textual import constants
from textual._styles_cache import StylesCache
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.driver import Driver
from textual.screen import Screen

from snoop_tui.errors import SnoopError
from snoop_tui.first_frame import SHORT_ROWS
from snoop_tui.link import CallLink
from snoop_tui.quiet_driver import QuietLinuxDriver
from snoop_tui.screens.board import BoardScreen
from snoop_tui.screens.panel import PanelScreen
from snoop_tui.terminal_caps import glyphs, sixteen_colours
from snoop_tui.widgets.transcript_pane import TranscriptOptions

Link = TypeVar("Link", bound=CallLink)


class SnoopApp(App[None], Generic[Link]):
    """A panel on one call, or the board; generic in the link so tests see their calls."""

    TITLE = "snoop-tui"
    CSS_PATH = "snoop.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [Binding("ctrl+c", "leave", "Quit", show=False, priority=True)]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT_ROWS, "-tall")]
    """Below 30 rows the panel's controls take one row (class `-short` on the screen)."""

    def __init__(
        self,
        conversation_id: str | None = None,
        call: Link | None = None,
        *,
        board: BoardScreen | None = None,
        open_call: Callable[[str], Link] | None = None,
        handle_signals: bool = False,
        options: TranscriptOptions | None = None,
    ) -> None:
        few_colours = sixteen_colours()
        super().__init__(ansi_color=few_colours)
        if few_colours:
            self.theme = "ansi-dark"  # colours a 16-colour terminal really has
        self.shapes = glyphs()
        if not self.shapes.unicode:
            self.add_class("-ascii")  # plain borders, ASCII glyphs
        self.handle_signals = handle_signals
        """Run for real, as the process's one app: end as Stop does on SIGTERM and SIGHUP (a
        closed terminal), and keep the startup heap out of the collector's way."""
        self.failure: SnoopError | None = None
        self.board = board
        self.options = options or TranscriptOptions()
        """Alerts, bell and saving, for every panel this app opens."""
        self._open_call = open_call
        self._panel: PanelScreen | None = None
        if conversation_id is not None and call is not None:
            self._panel = PanelScreen(conversation_id, call, self.shapes, self.options)
        elif board is None or open_call is None:
            raise ValueError("a conversation and its call, or a board and a way to open calls")

    def get_driver_class(self) -> type[Driver]:
        """Textual's terminal driver, with an input thread that sleeps until a key comes,
        unless Textual is told to use another (`TEXTUAL_DRIVER`) or runs on Windows."""
        if constants.DRIVER is None and sys.platform != "win32":
            return QuietLinuxDriver
        return super().get_driver_class()

    @property
    def panel(self) -> PanelScreen:
        """The panel opened last (the only one, when started on one call)."""
        if self._panel is None:
            raise LookupError("no call has been opened")
        return self._panel

    @property
    def call(self) -> Link:
        return cast(Link, self.panel.call)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette offers the screen's own commands first."""
        if isinstance(screen, PanelScreen):
            yield SystemCommand("Listen", "Play the call's audio", screen.action_listen)
            yield SystemCommand("Mute", "Stop the audio", screen.action_mute)
            yield SystemCommand(
                "Focus",
                "Hear both sides, the agent only, the caller only",
                screen.action_focus_side,
            )
            yield SystemCommand("Volume up", "Louder by 10%", lambda: screen.action_volume(1))
            yield SystemCommand("Volume down", "Softer by 10%", lambda: screen.action_volume(-1))
            yield SystemCommand(
                "Health", "Show or hide the health readout", screen.action_toggle_health
            )
            yield SystemCommand("Stop", "Leave the call", screen.action_leave)
            yield SystemCommand("Help", "Keys and notes", screen.action_help)
        elif isinstance(screen, BoardScreen):
            yield SystemCommand(
                "Refresh", "Refresh the list of live calls", screen.action_refresh_now
            )
            yield SystemCommand("Filter", "Filter by agent, caller or number", screen.action_filter)
            yield SystemCommand("Help", "Keys and notes", screen.action_help)
        yield from super().get_system_commands(screen)

    def get_default_screen(self) -> Screen[Any]:
        return self.board if self.board is not None else super().get_default_screen()

    def on_mount(self) -> None:
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self._signalled)
            self.call_after_refresh(freeze_startup_heap)
        if self.board is None:
            self.push_screen(self.panel, self._panel_closed)

    def _signalled(self) -> None:
        self.run_worker(self.action_leave(), group="leave", exclusive=True)

    async def action_leave(self) -> None:
        """Ctrl+C or a signal: leave any call on screen, then close the app."""
        if isinstance(self.screen, PanelScreen):
            self.screen.save_if_asked()
            await self.screen.call.stop()
        self.exit(return_code=0)

    @property
    def saved(self) -> list[Path]:
        """Transcripts saved as panels closed (`--save`), for the CLI to name."""
        panel = self._panel
        return list(panel.saved) if panel is not None and panel.saved else []

    def on_board_screen_open(self, message: BoardScreen.Open) -> None:
        assert self._open_call is not None
        conversation_id = message.conversation_id
        call = self._open_call(conversation_id)
        self._panel = PanelScreen(conversation_id, call, self.shapes, self.options)
        self.push_screen(self._panel, self._back_on_board)

    def on_board_screen_unavailable(self, message: BoardScreen.Unavailable) -> None:
        self.fail(message.error)

    def _back_on_board(self, failure: SnoopError | None) -> None:
        assert self.board is not None
        release_closed_widgets()
        panel = self._panel
        if panel is not None and panel.pane.alerts_seen:  # the board marks that call
            self.board.calls.alerts[panel.conversation_id] = panel.pane.alerts_seen[-1].phrase
        if failure is not None:
            self.board.show_problem(f"{failure.title}: {failure.message}")
        self.board.refresh_calls()

    def _panel_closed(self, failure: SnoopError | None) -> None:
        if failure is None:
            self.exit(return_code=0)
        else:
            self.fail(failure)

    def fail(self, error: SnoopError) -> None:
        """End the app with the error's exit code; the CLI prints its message."""
        self.failure = error
        self.exit(return_code=error.exit_code)


def freeze_startup_heap() -> None:
    """Take everything alive once the first screen is drawn (the modules, Textual, that
    screen) out of the garbage collector's full passes, which walk every object they
    hold: with the startup heap in them, one took about 17 ms, a stalled frame, and now
    walks only what came after. Those objects live as long as the process anyway; no
    collection runs first (it would cost that frame itself), so the little garbage of
    the start is kept, once."""
    gc.freeze()


def release_closed_widgets() -> None:
    """Let go of the render caches of a closed panel's widgets.

    Textual memoises `StylesCache.get_inner_outer`, an instance method, with an
    `lru_cache` of 1,024 entries, so each entry keeps a widget's `StylesCache` and its
    rendered lines alive after the widget is gone (Textualize/textual#6665, open). A
    panel is about fifteen widgets: on the board, each call opened and left added
    about 0.35 MiB until some seventy calls later. Clearing it costs one recomputation
    of a background colour per widget."""
    method = getattr(StylesCache, "get_inner_outer", None)
    clear = getattr(method, "cache_clear", None)
    if callable(clear):
        clear()

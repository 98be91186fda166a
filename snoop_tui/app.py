"""The Textual app: a panel on one call, closing when the supervisor leaves it.

Thin by design: the panel screen owns its call (keys become its commands, its
events set the panel's state); the app only decides what happens when a panel
closes, and ends as Stop does on SIGTERM and SIGHUP. It never touches the SDK,
the audio device or the network.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Generic, TypeVar, cast

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from snoop_tui.errors import SnoopError
from snoop_tui.link import CallLink
from snoop_tui.screens.panel import PanelScreen

Link = TypeVar("Link", bound=CallLink)


class SnoopApp(App[None], Generic[Link]):
    """One conversation, one panel; generic in the link so tests see the call they built."""

    TITLE = "snoop-tui"
    CSS_PATH = "snoop.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [Binding("ctrl+c", "leave", "Stop", show=False, priority=True)]

    def __init__(self, conversation_id: str, call: Link, *, handle_signals: bool = False) -> None:
        super().__init__()
        self.handle_signals = handle_signals
        """End as Stop does on SIGTERM and SIGHUP (a closed terminal): only when run for real."""
        self.conversation_id = conversation_id
        self.failure: SnoopError | None = None
        self.panel = PanelScreen(conversation_id, call)

    @property
    def call(self) -> Link:
        return cast(Link, self.panel.call)

    def on_mount(self) -> None:
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self._signalled)
        self.push_screen(self.panel, self._panel_closed)

    def _signalled(self) -> None:
        self.run_worker(self.action_leave(), group="leave", exclusive=True)

    async def action_leave(self) -> None:
        """Stop (Ctrl+C, a signal): leave the call on screen, or close the app."""
        screen: Screen[object] = self.screen
        if isinstance(screen, PanelScreen):
            await screen.action_leave()
        else:
            self.exit(return_code=0)

    def _panel_closed(self, failure: SnoopError | None) -> None:
        if failure is None:
            self.exit(return_code=0)
        else:
            self.fail(failure)

    def fail(self, error: SnoopError) -> None:
        """End the app with the error's exit code; the CLI prints its message."""
        self.failure = error
        self.exit(return_code=error.exit_code)

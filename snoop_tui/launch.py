"""Builds the app: on one call, or on the board. The factories the CLI, demo and tests use.

The app knows only the `CallLink` protocol; this module picks the implementation:
the call runs in its own process, so a crash in LiveKit or PortAudio never takes
the panel or the terminal down, and the panel's process never loads either.
(Tests that look inside the session build `SnoopApp` on an `InProcessCall`: the
same session, minus the pipe.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from snoop_tui.process_call import CALL_PROCESS, CallProcess
from snoop_tui.settings import Settings

if TYPE_CHECKING:
    from snoop_tui.app import SnoopApp
    from snoop_tui.widgets.transcript_pane import TranscriptOptions


def make_app(
    settings: Settings,
    conversation_id: str,
    *,
    allow_insecure_ws: bool = False,
    status_interval: float = 5.0,
    log_file: str | None = None,
    call_program: Sequence[str] = CALL_PROCESS,
    handle_signals: bool = False,
) -> SnoopApp[CallProcess]:
    """The panel on one conversation, its call in a process of its own."""
    call = CallProcess(
        settings,
        conversation_id,
        allow_insecure_ws=allow_insecure_ws,
        status_interval=status_interval,
        log_file=log_file,
        program=call_program,
    )
    call.launch(fork=True)  # it imports LiveKit, gets the token and joins while Textual loads
    from snoop_tui.app import SnoopApp

    return SnoopApp(
        conversation_id, call, handle_signals=handle_signals, options=transcript_options(settings)
    )


def transcript_options(settings: Settings) -> TranscriptOptions:
    """Alerts and bell; with `--save` (or `save_dir`), the transcript is also saved
    whenever a panel closes, whatever ends it."""
    from snoop_tui.widgets.transcript_pane import TranscriptOptions

    return TranscriptOptions(
        alerts=settings.alerts,
        bell=settings.bell,
        save_dir=settings.save_dir,
        save_on_close=settings.save_dir is not None,
    )


def make_board_app(
    settings: Settings,
    *,
    log_file: str | None = None,
    handle_signals: bool = False,
) -> SnoopApp[CallProcess]:
    """The board of live calls; Enter opens a panel, its call in a process of its own."""
    from snoop_tui.app import SnoopApp
    from snoop_tui.platform import PlatformClient
    from snoop_tui.screens.board import BoardScreen

    platform = PlatformClient(settings)

    def open_call(conversation_id: str) -> CallProcess:
        call = CallProcess(settings, conversation_id, log_file=log_file)
        call.launch()
        return call

    board = BoardScreen(
        platform.list_live_conversations,
        refresh_seconds=settings.board_refresh,
        close=platform.aclose,
    )
    return SnoopApp(
        board=board,
        open_call=open_call,
        handle_signals=handle_signals,
        options=transcript_options(settings),
    )

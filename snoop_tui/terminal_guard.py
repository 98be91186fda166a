"""Keeps the terminal usable whatever happens to the panel's process.

`snoop-tui` runs the panel in a child process (a fork of itself: no second interpreter
to start, so the panel is on screen sooner) and waits for it. If the panel dies
(a bug, a kill), this small parent, which never loads Textual or a native library,
puts the terminal back as the panel found it: alternate screen left, cursor shown,
mouse reporting, bracketed paste, focus events and the kitty keyboard protocol
off, the saved terminal modes restored and `stty sane` run; then says in one line
what happened and where the log is. Its call processes leave their rooms on their
own (parent-death signal), so nothing is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import termios
from collections.abc import Callable
from typing import Any, NoReturn

from snoop_tui.forked import run_then_exit
from snoop_tui.lifeline import die_with_starter

PANEL_PROCESS_ENV = "SNOOP_TUI_PANEL_PROCESS"
"""Set in the panel's own process, so it runs the panel rather than another guard."""

RESTORE_TERMINAL = (
    "\x1b[<u"  # kitty keyboard protocol: pop our flags
    "\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?1016l"  # mouse reporting off
    "\x1b[?2004l"  # bracketed paste off
    "\x1b[?2048l"  # in-band resize notifications off
    "\x1b[?1004l"  # focus in/out reports off
    "\x1b[?7h"  # line wrap back on
    "\x1b[?1049l"  # leave the alternate screen
    "\x1b[?25h"  # show the cursor
)


def is_panel_process() -> bool:
    return os.environ.get(PANEL_PROCESS_ENV) == "1"


def _terminal_fd() -> int | None:
    for fd in (sys.stdin.fileno(), sys.stdout.fileno()):
        with contextlib.suppress(OSError, ValueError):
            if os.isatty(fd):
                return fd
    return None


def restore_terminal(fd: int, saved: list[Any] | None) -> None:
    """Undo what a full-screen app may have left switched on."""
    with contextlib.suppress(OSError):
        os.write(fd, RESTORE_TERMINAL.encode())
    if saved is not None:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(["stty", "sane"], stdin=fd, check=False, timeout=5)


def describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


def run_guarded(panel: Callable[[], int], log_file: str | None, known_codes: set[int]) -> int:
    """Run `panel()` in a child process, forked from this one; clean up after it if it dies.

    Exit codes in `known_codes` are the panel's own endings (it has printed its
    message); anything else, or death by a signal, is a crash."""
    fd = _terminal_fd()
    saved = None
    if fd is not None:
        with contextlib.suppress(termios.error):
            saved = termios.tcgetattr(fd)
    # The panel ends as Stop does if snoop-tui itself is killed (SIGKILL included).
    tie_to_guard = die_with_starter(signal.SIGTERM)
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        _be_the_panel(panel, tie_to_guard)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the panel's (it reads raw keys)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    if code in known_codes:
        return code
    if fd is not None:
        restore_terminal(fd, saved)
    where = f"the log is {log_file}" if log_file else "run with --log-file PATH to keep a log"
    print(
        f"snoop-tui: the panel stopped unexpectedly ({describe_exit(code)}); "
        f"the call was left; {where}.",
        file=sys.stderr,
    )
    return 1


def _be_the_panel(panel: Callable[[], int], tie_to_guard: Callable[[], None]) -> NoReturn:
    """In the forked child: run the panel, then end this process, whatever its threads
    (Textual's input thread can outlive a closed terminal), never returning into the
    guard's code."""

    def run() -> int:
        tie_to_guard()  # exits at once if the guard is already gone
        os.environ[PANEL_PROCESS_ENV] = "1"
        return panel()

    run_then_exit(run)

"""Textual's terminal driver, minus its input thread's ten wake-ups a second.

Textual's `LinuxDriver` reads the keyboard on a thread that wakes every 100 ms, keys
or none, to see whether it should stop and whether a lone Escape has waited long
enough to be a key of its own. On a silent call that is all the panel does between
frames; on the benchmark's talking call it was 0.04 of the muted panel's 0.38 CPU
s/min (by thread, over 30 s), and ten wake-ups a second on a shared jump box for
nothing. Here the thread sleeps until a key arrives or the driver stops it: stopping
writes a byte to a pipe of its own. After input it waits only as long as Textual's
Escape delay, so that a lone Escape is still delivered once that delay has passed.

Textual's reading loop is copied from Textual 8.2 (`LinuxDriver.run_input_thread`),
with its parser; pyproject.toml pins Textual's minor version.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
from codecs import getincrementaldecoder
from typing import TYPE_CHECKING, Any

from textual import constants
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

if TYPE_CHECKING:
    from textual.app import App

AFTER_INPUT_S = constants.ESCAPE_DELAY + 0.02
"""How long the thread waits for more after input: past a lone Escape's delay, so the
parser's timer has run out when it next looks."""


class _WakingEvent(threading.Event):
    """The driver's stop flag, which also wakes the input thread reading at the time."""

    def __init__(self) -> None:
        super().__init__()
        self._wake = -1
        self._lock = threading.RLock()  # set() can run in a signal handler, over itself

    def set(self) -> None:
        super().set()
        with self._lock:
            if self._wake >= 0:
                with contextlib.suppress(OSError):  # full: the thread is awake already
                    os.write(self._wake, b"\0")

    def attach(self, wake: int) -> None:
        with self._lock:
            self._wake = wake

    def detach(self) -> None:
        """Wake nothing from now on: the pipe is about to close (and its number to be
        reused by some other file)."""
        with self._lock:
            self._wake = -1


class QuietLinuxDriver(LinuxDriver):
    """`LinuxDriver` whose input thread sleeps until there is something to read."""

    def __init__(
        self,
        app: App[Any],
        *,
        debug: bool = False,
        mouse: bool = True,
        size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        self._stop_flag = _WakingEvent()
        self.exit_event = self._stop_flag

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (as Textual's, with a wait that blocks).

        Each run has a wake-up pipe of its own: a suspended app (SIGTSTP) stops this
        thread and closes the driver, and starts a new thread when it resumes."""
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        self._stop_flag.attach(wake_write)
        selector = selectors.SelectSelector()
        try:
            self._read_until_stopped(selector, wake_read)
        finally:
            self._stop_flag.detach()
            selector.close()
            os.close(wake_read)
            os.close(wake_write)

    def _read_until_stopped(self, selector: selectors.BaseSelector, wake: int) -> None:
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(wake, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def process(ready: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> bool:
            """Feed what is ready to the parser; True if the terminal had input."""
            had_input = False
            for key, _mask in ready:
                if key.fd == wake:
                    with contextlib.suppress(OSError):
                        os.read(wake, 512)
                    continue
                data = decode(os.read(self.fileno, 1024 * 4), final=final)
                if not data:  # the input has ended: stop watching it, or it is always ready
                    selector.unregister(self.fileno)
                    continue
                had_input = True
                for event in parser.feed(data):
                    self.process_message(event)
            for event in parser.tick():  # a lone Escape whose delay has run out
                self.process_message(event)
            return had_input

        wait: float | None = None
        try:
            while not self.exit_event.is_set():
                wait = AFTER_INPUT_S if process(selector.select(wait)) else None
            with contextlib.suppress(KeyError):  # unless its input ended
                selector.unregister(self.fileno)
            process(selector.select(0), final=True)
        finally:
            with contextlib.suppress(EOFError, ParseError):
                for _event in parser.feed(""):
                    pass

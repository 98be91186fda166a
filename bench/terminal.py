"""A command on a real pseudo-terminal, its output read and timestamped by a thread.

"When did this text appear on the terminal" is then a lookup, not a poll: every
chunk read carries the moment it was read (the system-wide monotonic clock).
"""

from __future__ import annotations

import asyncio
import bisect
import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import SIZE, stop_process


@dataclass
class Seen:
    """Where a text ended in a terminal's output, and when that byte was read."""

    end: int
    at: float


class Terminal:
    """A command on a real pty; a thread reads (and timestamps) everything it writes.

    Positions are offsets in the whole output; only the last few MiB are kept, so a
    long run that repaints many times a second does not grow without bound."""

    KEEP = 4 << 20

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        size: tuple[int, int] = SIZE,
        pass_fds: Sequence[int] = (),
        cwd: Path | None = None,
    ) -> None:
        self.master, slave = pty.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._base = 0  # offset of _buffer[0] in the whole output
        self._ends: list[int] = []  # offset just past each chunk read...
        self._times: list[float] = []  # ...and when it was read
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, **env, "TERM": "xterm-256color"},
            start_new_session=True,
            pass_fds=tuple(pass_fds),
            cwd=cwd,
        )
        os.close(slave)
        self._reader = threading.Thread(target=self._read, name="bench-pty", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def length(self) -> int:
        with self._lock:
            return self._base + len(self._buffer)

    def _read(self) -> None:
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                if self.proc.poll() is not None:
                    return
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: every process on the terminal has gone
                return
            if not data:
                return
            now = time.monotonic()
            with self._lock:
                self._buffer += data
                self._ends.append(self._base + len(self._buffer))
                self._times.append(now)
                if len(self._buffer) > 2 * self.KEEP:
                    drop = len(self._buffer) - self.KEEP
                    del self._buffer[:drop]
                    self._base += drop
                    cut = bisect.bisect_right(self._ends, self._base)
                    del self._ends[:cut], self._times[:cut]

    def find(self, text: bytes, since: int = 0) -> Seen | None:
        with self._lock:
            start = max(0, since - self._base)
            found = self._buffer.find(text, start)
            if found < 0:
                return None
            end = self._base + found + len(text)
            chunk = bisect.bisect_left(self._ends, end)
            at = self._times[min(chunk, len(self._times) - 1)]
        return Seen(end, at)

    async def wait_for(self, text: bytes, since: int = 0, timeout: float = 30.0) -> Seen:
        deadline = time.monotonic() + timeout
        while (seen := self.find(text, since)) is None:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise TimeoutError(f"{text!r} did not appear on the terminal in {timeout:g} s")
            await asyncio.sleep(0.005)
        return seen

    def type(self, keys: bytes) -> float:
        """Type `keys`; returns the moment they were written."""
        at = time.monotonic()
        os.write(self.master, keys)
        return at

    async def close(self, quit_keys: bytes = b"x", timeout: float = 10.0) -> None:
        """Quit as a supervisor would; then SIGTERM and SIGKILL the process if it stays."""
        if self.proc.poll() is None:
            with_keys = time.monotonic() + timeout
            try:
                self.type(quit_keys)
            except OSError:
                pass
            while self.proc.poll() is None and time.monotonic() < with_keys:
                await asyncio.sleep(0.05)
        await asyncio.to_thread(stop_process, self.proc)
        self._reader.join(2)
        os.close(self.master)

"""Run snoop-tui as a person would: its own process, in a real pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Run:
    code: int
    output: str


def run_in_terminal(
    args: list[str],
    env: dict[str, str],
    timeout: float = 30.0,
    size: tuple[int, int] = (80, 24),
    keys: Sequence[tuple[str, bytes]] = (),
) -> Run:
    """Run `python -m snoop_tui ARGS` on a pty of `size`; return its exit code and all output.

    `keys` are typed as a person would: each (text, keys) pair waits until `text` has
    appeared in the output (after the previous pair's keys were typed), then types `keys`.
    """
    master, slave = pty.openpty()
    cols, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    full_env = {**os.environ, **env, "TERM": "xterm-256color"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "snoop_tui", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=full_env,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    pending = list(keys)
    since = 0  # where in the output to look for the next step's text
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"snoop-tui {args} did not exit within {timeout} s")
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    data = b""
                if not data and proc.poll() is not None:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
            output = b"".join(chunks)
            if pending and pending[0][0].encode() in output[since:]:
                since = len(output)
                os.write(master, pending.pop(0)[1])
        code = proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return Run(code=code, output=b"".join(chunks).decode("utf-8", "replace"))

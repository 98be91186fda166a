"""Run snoop-tui as a person would: its own process, in a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import fcntl
import inspect
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
from typing import Any

CREDENTIAL = "ak_demo_sensitive"


def env(base_url: str, **extra: str) -> dict[str, str]:
    """What `snoop-tui watch` reads: the local platform and its demo credential only."""
    return {
        "ANYREACH_API_URL": base_url,
        "ANYREACH_TOKEN": CREDENTIAL,
        "ANYREACH_CONFIG": "/nonexistent",
        **extra,
    }


async def until(predicate: Any, timeout: float, what: str) -> None:
    """Poll `predicate` (plain or awaitable) until it holds; fail after `timeout` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await _value(predicate()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


async def _value(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


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


class Terminal:
    """`python -m snoop_tui ARGS` on a pty that stays open, driven step by step.

    The test keeps the pty's other end open, so it can read the terminal's modes
    after the program (or a process of it) has died."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        size: tuple[int, int] = (100, 30),
        *,
        controlling: bool = False,
    ) -> None:
        """With `controlling`, the pty is the session's controlling terminal, as sshd
        makes it: `hang_up` then hangs up the session, as a dropped connection does (the
        test then keeps no handle on the pty's other end)."""
        self.master, self.slave = pty.openpty()
        cols, rows = size
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.modes_before = termios.tcgetattr(self.slave)
        self.output = bytearray()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "snoop_tui", *args],
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            env={**os.environ, **env, "TERM": "xterm-256color"},
            start_new_session=True,
            preexec_fn=_take_controlling_terminal if controlling else None,
        )
        if controlling:
            os.close(self.slave)
            self.slave = os.open(os.devnull, os.O_RDONLY)  # what close() closes

    def hang_up(self) -> None:
        """Close the terminal, as closing the window or a dropped SSH connection does."""
        os.close(self.master)
        self.master = os.open(os.devnull, os.O_RDONLY)

    def _pump(self, wait: float) -> None:
        ready, _, _ = select.select([self.master], [], [], wait)
        if ready:
            self.output += os.read(self.master, 65536)

    def drain(self) -> None:
        """Read what the program has written so far, as a terminal keeps doing: a pty
        nobody reads fills up, and the program's next write blocks."""
        self._pump(0)

    def wait_for(self, text: bytes, timeout: float = 30.0, since: int = 0) -> int:
        """Read until `text` appears after position `since`; return where it ends."""
        deadline = time.monotonic() + timeout
        while (found := self.output.find(text, since)) < 0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"{text!r} never appeared: {bytes(self.output[-800:])!r}")
            self._pump(0.05)
        return found + len(text)

    def wait_exit(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError("snoop-tui did not exit")
            self._pump(0.05)
        self._pump(0.1)  # what it wrote last
        return self.proc.returncode

    def modes(self) -> list[Any]:
        return termios.tcgetattr(self.slave)

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


def _take_controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def command_of(pid: int) -> str:
    """The process's command line, words joined by spaces ("" once it has gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def gone(pid: int) -> bool:
    """The process has exited (a zombie counts: it will never run again)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def live_panel(term: Terminal) -> tuple[int, int]:
    """Wait for LIVE on screen; return the panel's and the call process's pids."""
    await asyncio.to_thread(term.wait_for, b"LIVE", 30.0)
    (panel,) = children(term.proc.pid)
    await until(lambda: len(children(panel)) == 1, 10.0, "the call process")
    (call,) = children(panel)
    return panel, call

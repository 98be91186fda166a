"""Child processes forked from this one, without a new interpreter to start.

`subprocess` execs a new Python, which then imports again what this process has
already imported: for the call process that is 40 to 60 ms, all of it before the
token request and the join. A fork starts with everything this process has loaded.
It is safe only while this process runs one thread (a lock another thread holds at
the fork stays held in the child for ever) and no event loop (the child would take
it for its own), so `can_fork` says when; callers fall back to `subprocess`
otherwise. The child never returns into its parent's code.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import NoReturn


def can_fork() -> bool:
    """Whether a fork now is safe: a single thread, and no event loop running in it."""
    import asyncio  # here, not at the top: the guard imports this module, and stays small

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return threading.active_count() == 1
    return False


def run_then_exit(run: Callable[[], int]) -> NoReturn:
    """Run, then end the process with run's exit code, whatever its threads are doing,
    flushing what it wrote but running no exit handler: in a forked child, none of the
    parent's; in a process with LiveKit loaded, not the SDK's, which tears its native
    runtime down around threads that may still call back."""
    code = 1
    try:
        code = run()
    except SystemExit as leaving:
        code = leaving.code if isinstance(leaving.code, int) else 1
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # the child reports its own failures; this is a last resort
        logging.getLogger("snoop_tui").exception("the process failed")
    finally:
        logging.shutdown()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def fork_child(run: Callable[[], int], *, output: int, close: Sequence[int] = ()) -> ForkedChild:
    """Fork a child that reads nothing, writes its output and errors to the file
    descriptor `output` (or nowhere, for `subprocess.DEVNULL`), does not hold the
    descriptors in `close` (its parent's ends of their pipes), and runs `run`."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        run_then_exit(lambda: _in_child(run, output, close))
    return ForkedChild(pid)


def _in_child(run: Callable[[], int], output: int, close: Sequence[int]) -> int:
    for fd in close:
        os.close(fd)
    nowhere = os.open(os.devnull, os.O_RDWR)
    os.dup2(nowhere, 0)
    for fd in (1, 2):
        os.dup2(nowhere if output == subprocess.DEVNULL else output, fd)
    os.close(nowhere)
    return run()


class ForkedChild:
    """What `subprocess.Popen` offers to wait for and stop a child, for a forked one."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._reaping = threading.Lock()  # one waitpid at a time, as Popen has

    def poll(self) -> int | None:
        """The exit code if the child has ended, else None; never blocks."""
        if self.returncode is None and self._reaping.acquire(blocking=False):
            try:
                if self.returncode is None:
                    pid, status = os.waitpid(self.pid, os.WNOHANG)
                    if pid:
                        self.returncode = os.waitstatus_to_exitcode(status)
            finally:
                self._reaping.release()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to end; `subprocess.TimeoutExpired` after `timeout` s."""
        if timeout is not None and self.returncode is None and not self._ends_within(timeout):
            raise subprocess.TimeoutExpired(f"process {self.pid}", timeout)
        with self._reaping:
            if self.returncode is None:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            os.kill(self.pid, signal.SIGKILL)

    def _ends_within(self, timeout: float) -> bool:
        try:
            handle = os.pidfd_open(self.pid)  # readable once the child has ended
        except ProcessLookupError:
            return True  # already reaped
        try:
            ready, _, _ = select.select([handle], [], [], timeout)
        finally:
            os.close(handle)
        return bool(ready)

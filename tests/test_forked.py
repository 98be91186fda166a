"""Forked children: how the panel's first call process is started (no second interpreter).

Real forks of the test's process. The panel relies on three things: the child holds
none of its parent's pipe ends (or a closed command pipe would never reach it), its
output goes where it is told, and a child that will not end can be waited for with a
time limit and killed (Stop never hangs on it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from snoop_tui.forked import fork_child


def test_the_child_sees_its_pipe_close_and_writes_where_it_is_told(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    output = os.open(tmp_path / "out.log", os.O_WRONLY | os.O_CREAT, 0o600)

    def child() -> int:
        os.write(1, b"started\n")
        received = b""
        while chunk := os.read(read_end, 100):  # ends only if no one holds the write end
            received += chunk
        os.write(2, b"stdin gives %r\n" % os.read(0, 10))
        return len(received)

    forked = fork_child(child, output=output, close=(write_end,))
    os.close(output)
    os.close(read_end)
    os.write(write_end, b"abc")
    os.close(write_end)
    assert forked.wait(10.0) == 3
    assert forked.poll() == 3
    assert (tmp_path / "out.log").read_text() == "started\nstdin gives b''\n"


def test_a_child_that_does_not_end_is_waited_for_with_a_limit_then_killed() -> None:
    def stuck() -> int:
        time.sleep(60)
        return 0

    forked = fork_child(stuck, output=subprocess.DEVNULL)
    with pytest.raises(subprocess.TimeoutExpired):
        forked.wait(0.2)
    assert forked.poll() is None
    forked.kill()
    assert forked.wait(10.0) == -signal.SIGKILL
    assert not os.path.exists(f"/proc/{forked.pid}")  # reaped: no zombie left behind

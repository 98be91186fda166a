"""`snoop-tui demo` leaves nothing behind, however it ends; and says what it is missing.

The demo runs as a supervisor runs it: `snoop-tui demo` in a pseudo-terminal that is
its session's controlling terminal, as sshd makes it, so closing it hangs up the
session as closing the window or losing the SSH connection does. Then it is ended by
a hang-up, SIGHUP, SIGTERM (while the board is open, or while the stack is still
starting), or SIGKILL of the panel's process or of `snoop-tui` itself, and within a
few seconds no process of that run (livekit-server, the platform API, a simulated
call, the panel) is left, and its temp folders are gone. A run's processes are found
by a marker in their environment: the temp folder the guard gave that run. The same
hang-up ends `snoop-tui watch` as Stop does.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.live import observer_in, running_call
from tests.terminal import Terminal, children, command_of, gone, live_panel, until
from tests.terminal import env as panel_env

REPO_ROOT = Path(__file__).resolve().parent.parent
ENDED_WITHIN = 10.0
"""Seconds for every process of the run to be gone (1 to 4.5 s measured on 2 busy cores)."""
BOARD_WITHIN = 150.0
"""Seconds for the board to show its calls: the stack starts a process per call."""


def marked(marker: bytes) -> list[int]:
    """The live processes whose environment holds `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and not gone(int(entry)):
            try:
                with open(f"/proc/{entry}/environ", "rb") as environ:
                    if marker in environ.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                continue
    return found


def wait_until(done: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `done()` until true; return how long it took."""
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.stack
@pytest.mark.timeout(BOARD_WITHIN + 60)
@pytest.mark.parametrize(
    "how",
    [
        "terminal closed",
        "SIGHUP",
        "SIGTERM",
        "SIGTERM while starting",
        "panel SIGKILL",
        "snoop-tui SIGKILL",
    ],
)
def test_the_demo_leaves_no_process_and_no_temp_folder(how: str, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp), "ANYREACH_CONFIG": "/nonexistent"}
    term = Terminal(["demo"], env, controlling=True)
    run_pids: set[int] = set()
    try:
        wait_until(lambda: len(os.listdir(tmp)) == 1, 30, "the run's temp folder")
        (run_dir,) = tmp.iterdir()
        marker = f"SNOOP_DEMO_TMPDIR={run_dir}".encode()
        if how == "SIGTERM while starting":
            wait_until(
                lambda: any("livekit-server" in command_of(p) for p in marked(marker)),
                60,
                "livekit-server to start",
            )
        else:
            term.wait_for(b"Tech Support", BOARD_WITHIN)  # the board shows its calls
        (panel,) = children(term.proc.pid)
        run_pids = {term.proc.pid, panel, *marked(marker)}
        commands = " ".join(command_of(p) for p in run_pids)
        assert "livekit-server" in commands
        if how != "SIGTERM while starting":
            assert "snoop_tui.demo.platform_api" in commands
            assert commands.count("snoop_tui.demo.call") >= 3

        if how == "terminal closed":
            term.hang_up()
        elif how == "panel SIGKILL":
            os.kill(panel, signal.SIGKILL)
        else:
            os.kill(term.proc.pid, signal.Signals[next(w for w in how.split() if "SIG" in w)])
        took = wait_until(
            lambda: all(gone(p) for p in run_pids) and not marked(marker),
            ENDED_WITHIN,
            f"every process of the run to end: {[command_of(p) for p in marked(marker)]}",
        )
        wait_until(lambda: not os.listdir(tmp), 2.0, f"the temp folders to go: {os.listdir(tmp)}")
        code = term.proc.wait(timeout=5)
        expected = {"panel SIGKILL": 1, "snoop-tui SIGKILL": -signal.SIGKILL}.get(how, 0)
        assert code == expected, bytes(term.output[-600:])
        print(f"{how}: everything gone {took:.1f} s after")
    finally:
        for pid in run_pids:  # a failed run must not leave its stack running
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
        term.close()


def test_the_demo_without_livekit_server_says_how_to_get_it_in_one_line(tmp_path: Path) -> None:
    """As from `pip install`: the package alone, no .tools folder, nothing on PATH."""
    site = tmp_path / "site-packages"
    shutil.copytree(
        REPO_ROOT / "snoop_tui", site / "snoop_tui", ignore=shutil.ignore_patterns("__pycache__")
    )
    path = "/usr/bin:/bin"
    assert shutil.which("livekit-server", path=path) is None
    for given, words in [
        (None, "scripts/setup builds it (a few minutes; needs Go), or set "
         "SNOOP_LIVEKIT_SERVER=/path/to/livekit-server."),
        (str(tmp_path / "nope"), f"SNOOP_LIVEKIT_SERVER={tmp_path / 'nope'} is not an executable"),
    ]:  # fmt: skip
        env = {"PATH": path, "PYTHONPATH": str(site), "ANYREACH_CONFIG": "/nonexistent"}
        if given is not None:
            env["SNOOP_LIVEKIT_SERVER"] = given
        run = subprocess.run(
            [sys.executable, "-m", "snoop_tui", "demo"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=env,
        )
        assert run.returncode == 2, run.stderr
        assert run.stderr.count("\n") == 1 and run.stdout == ""
        assert run.stderr.startswith("snoop-tui: Configuration problem: ")
        assert words in run.stderr
        assert "Traceback" not in run.stderr


async def test_closing_the_terminal_ends_watch_as_stop_does(
    platform_api: Any, livekit_server: Any, new_conversation: tuple[str, str]
) -> None:
    """The same hang-up on `snoop-tui watch`: the call is left, every process ends."""
    async with running_call(livekit_server, new_conversation, end_by_agent_leaving=False) as live:
        env = panel_env(platform_api.base_url)
        term = Terminal(["watch", live.conversation_id], env, controlling=True)
        try:
            panel, call = await live_panel(term)
            assert await observer_in(livekit_server, live.room_name)
            term.hang_up()
            await until(lambda: all(gone(p) for p in (term.proc.pid, panel, call)), 5.0, "exit")
            assert not await observer_in(livekit_server, live.room_name)
            assert term.proc.wait(timeout=1) == 0
        finally:
            term.close()

"""The panel's own process can die too: the terminal comes back and no call process stays.

`snoop-tui watch` runs in a real pseudo-terminal against the real local stack. It
is three processes: a small guard (the command itself), the panel (Textual) and
the call process. The tests kill or signal the panel as a bug, `kill -9` or a
dropped SSH session would, then check the terminal's modes and that the call
process left the room and exited within 2 s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import termios
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.live import observer_in, running_call
from tests.terminal import (
    CREDENTIAL,
    Terminal,
    children,
    command_of,
    env,
    gone,
    live_panel,
    until,
)

# What a full-screen program switches on and must be switched off again.
RESTORED = (b"\x1b[?1049l", b"\x1b[?25h", b"\x1b[?1000l", b"\x1b[?1003l", b"\x1b[?2004l")


@dataclass
class Watched:
    live: Any
    term: Terminal
    log_file: Path


@pytest.fixture
async def watched(
    platform_api: Any, livekit_server: Any, new_conversation: tuple[str, str], tmp_path: Path
) -> AsyncIterator[Watched]:
    """`snoop-tui watch --log-file` in a terminal, on a call that goes on until stopped."""
    log_file = tmp_path / "snoop.log"
    async with running_call(livekit_server, new_conversation, end_by_agent_leaving=False) as live:
        term = Terminal(
            ["watch", live.conversation_id, "--log-file", str(log_file)],
            env(platform_api.base_url),
        )
        try:
            yield Watched(live, term, log_file)
        finally:
            term.close()


async def test_a_killed_panel_leaves_a_usable_terminal_and_no_call_process(
    watched: Watched, livekit_server: Any
) -> None:
    live, term, log_file = watched.live, watched.term, watched.log_file
    panel, call = await live_panel(term)
    assert await observer_in(livekit_server, live.room_name)
    mark = len(term.output)
    os.kill(panel, signal.SIGKILL)
    code = await asyncio.to_thread(term.wait_exit)
    await until(lambda: gone(call), 2.0, "the call process to exit")
    await until(lambda: _not(observer_in(livekit_server, live.room_name)), 2.0, "the room left")
    after = bytes(term.output[mark:])
    assert code == 1
    for sequence in RESTORED:
        assert sequence in after, sequence
    modes = term.modes()
    assert modes[3] & termios.ICANON and modes[3] & termios.ECHO  # cooked again
    message = after.decode("utf-8", "replace")
    assert "the panel stopped unexpectedly (killed by SIGKILL)" in message
    assert str(log_file) in message
    assert "Traceback" not in message and CREDENTIAL not in message


async def _not(check: Any) -> bool:
    return not await check


@pytest.mark.parametrize(
    "how",
    ["x", "SIGTERM to the panel", "SIGHUP to the panel", "SIGTERM to snoop-tui",
     "SIGHUP to snoop-tui"],
)  # fmt: skip
async def test_the_panel_ends_as_stop_does_on_a_signal_or_x(
    how: str, platform_api: Any, livekit_server: Any, new_conversation: tuple[str, str]
) -> None:
    async with running_call(livekit_server, new_conversation, end_by_agent_leaving=False) as live:
        term = Terminal(["watch", live.conversation_id], env(platform_api.base_url))
        try:
            panel, call = await live_panel(term)
            mark = len(term.output)
            if how == "x":
                term.type(b"x")
            else:
                name, _, target = how.partition(" to ")
                os.kill(panel if target == "the panel" else term.proc.pid, signal.Signals[name])
            code = await asyncio.to_thread(term.wait_exit)
            await until(lambda: gone(call), 2.0, "the call process to exit")
            assert not await observer_in(livekit_server, live.room_name)
            assert code == 0, bytes(term.output[-600:])
            after = bytes(term.output[mark:])
            assert b"\x1b[?1049l" in after and b"stopped unexpectedly" not in after
            assert term.modes()[3] & termios.ECHO
        finally:
            term.close()


async def test_a_killed_snoop_tui_takes_its_panel_and_call_with_it(
    platform_api: Any, livekit_server: Any, new_conversation: tuple[str, str]
) -> None:
    async with running_call(livekit_server, new_conversation, end_by_agent_leaving=False) as live:
        term = Terminal(["watch", live.conversation_id], env(platform_api.base_url))
        try:
            panel, call = await live_panel(term)
            os.kill(term.proc.pid, signal.SIGKILL)  # the guard: the panel is told to stop

            def panel_gone() -> bool:
                term.drain()  # the panel draws its last frames as it stops
                return gone(panel)

            await until(panel_gone, 10.0, "the panel to end")
            await until(lambda: gone(call), 2.0, "the call process to exit")
            assert not await observer_in(livekit_server, live.room_name)
        finally:
            term.close()


async def test_a_killed_call_process_is_replaced_and_reaped_and_the_panel_goes_on(
    watched: Watched, livekit_server: Any
) -> None:
    live, term, log_file = watched.live, watched.term, watched.log_file
    panel, call = await live_panel(term)
    assert "snoop_tui.call_process" not in command_of(call)  # forked: no new Python
    mark = len(term.output)
    os.kill(call, signal.SIGKILL)
    rejoining = await asyncio.to_thread(term.wait_for, b"rejoining", 10.0, mark)
    await asyncio.to_thread(term.wait_for, b"LIVE", 30.0, rejoining)
    (replacement,) = children(panel)
    assert replacement != call
    assert "snoop_tui.call_process" in command_of(replacement)  # a new one, anew

    def reaped() -> bool:
        term.drain()
        return not os.path.exists(f"/proc/{call}")  # not even a zombie

    await until(reaped, 5.0, "the killed call process to be reaped")
    assert await observer_in(livekit_server, live.room_name)
    term.type(b"x")
    assert await asyncio.to_thread(term.wait_exit) == 0
    await until(lambda: gone(replacement), 2.0, "the new call process to exit")
    assert "killed by SIGKILL" in log_file.read_text()

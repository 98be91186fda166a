"""The panel's terminal input sleeps until a key comes, and every key still arrives.

`snoop-tui watch` in a real pseudo-terminal on the real local stack, on a call held
silent at its start (nothing spoken, so nothing to draw). Textual's own driver wakes
its input thread ten times a second whatever happens; ours wakes it for a key, a lone
Escape's delay, or to stop.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.live import running_call
from tests.terminal import Terminal, env, live_panel, until

QUIET_S = 2.0
STOP_BUTTON = "Stop \N{MULTIPLICATION X}".encode()
"""The panel's Stop button: the help covers it, and it is drawn again once the help closes."""
"""How long the silent panel is watched; Textual's input thread wakes 20 times in it."""


def wake_ups(pid: int) -> dict[int, int]:
    """Each thread of `pid` but its main one: how many times it has been switched in."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        if int(tid) == pid:
            continue
        with open(f"/proc/{pid}/task/{tid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if "ctxt_switches" in line)
        found[int(tid)] = sum(int(value) for value in fields.values())
    return found


async def wake_ups_while_silent(term: Terminal) -> int:
    """The panel's threads (its main thread aside) woken over `QUIET_S` of a silent call."""
    panel, _call = await live_panel(term)
    await asyncio.to_thread(term.wait_for, b"Stop", 30.0)  # Textual's first frame is up
    await asyncio.sleep(0.5)  # its first frames written
    term.drain()
    before = wake_ups(panel)
    await asyncio.sleep(QUIET_S)  # a window to observe, not a wait for an event
    after = wake_ups(panel)
    return sum(after[tid] - before.get(tid, 0) for tid in after)


@pytest.fixture
async def silent_call(livekit_server: Any, new_conversation: tuple[str, str]) -> AsyncIterator[str]:
    """A call whose agent and caller are in the room and say nothing (held at the start)."""
    async with running_call(livekit_server, new_conversation, end_by_agent_leaving=False) as live:
        yield live.conversation_id


async def test_a_silent_panel_wakes_no_thread_to_look_for_keys(
    platform_api: Any, silent_call: str
) -> None:
    term = Terminal(["watch", silent_call], env(platform_api.base_url))
    try:
        woken = await wake_ups_while_silent(term)
    finally:
        term.close()
    assert woken <= 8, f"the panel's threads woke {woken} times in {QUIET_S} s of silence"


async def test_textuals_own_driver_would_wake_ten_times_a_second(
    platform_api: Any, silent_call: str
) -> None:
    """The measure above can fail: with Textual's driver chosen, it sees the polling."""
    stock = "textual.drivers.linux_driver:LinuxDriver"
    term = Terminal(["watch", silent_call], env(platform_api.base_url, TEXTUAL_DRIVER=stock))
    try:
        woken = await wake_ups_while_silent(term)
    finally:
        term.close()
    assert woken >= 15


async def test_a_lone_escape_is_still_a_key(platform_api: Any, silent_call: str) -> None:
    """Escape alone closes the help: the input thread wakes once the delay that tells a
    lone Escape from the start of a longer key has passed, with no key after it."""
    term = Terminal(["watch", silent_call], env(platform_api.base_url))
    try:
        await live_panel(term)
        shown = await asyncio.to_thread(term.wait_for, b"Stop", 30.0)
        term.type(b"?")
        opened = await asyncio.to_thread(term.wait_for, b"Keys on a call", 10.0, shown)
        term.type(b"\x1b")  # and nothing after it
        await asyncio.to_thread(term.wait_for, STOP_BUTTON, 10.0, opened)  # the panel again
    finally:
        term.close()


def stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "T"


async def test_a_panel_stopped_and_continued_still_takes_keys(
    platform_api: Any, silent_call: str
) -> None:
    """SIGTSTP stops the panel (its input thread and driver closed), SIGCONT brings it
    back with a new input thread: keys work again."""
    term = Terminal(["watch", silent_call], env(platform_api.base_url))
    try:
        panel, _call = await live_panel(term)
        await asyncio.to_thread(term.wait_for, b"Stop", 30.0)
        os.kill(panel, signal.SIGTSTP)
        await until(lambda: stopped(panel), 10.0, "the panel to stop")
        term.drain()
        mark = len(term.output)
        os.kill(panel, signal.SIGCONT)
        back = await asyncio.to_thread(term.wait_for, b"\x1b[?1049h", 10.0, mark)
        await asyncio.to_thread(term.wait_for, b"Stop", 10.0, back)  # redrawn
        term.type(b"?")
        await asyncio.to_thread(term.wait_for, b"Keys on a call", 10.0, back)
    finally:
        term.close()

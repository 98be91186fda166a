"""Helpers for end-to-end tests: a simulated call in a room, waiting on the panel."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from livekit import api

from snoop_tui.app import SnoopApp
from snoop_tui.demo.call import SimulatedCall, Turn
from snoop_tui.local_call import InProcessCall
from snoop_tui.settings import Settings
from snoop_tui.widgets.badge import CallBadge

SCRIPT = (
    Turn("agent", "Thanks for calling, this is Ava. How can I help?"),
    Turn("caller", "My bill is twice what I usually pay."),
    Turn("agent", "Let me look at the account for you."),
    Turn("caller", "Thank you, I appreciate it."),
    Turn("agent", "The meter reading was estimated; I will correct it."),
)
SIZE = (100, 30)


@dataclass
class LiveCall:
    conversation_id: str
    room_name: str
    call: SimulatedCall
    go: asyncio.Event
    """Set to let the simulated call start talking (once the observer is in)."""


async def wait_for(
    pilot: Any, predicate: Callable[[], bool], timeout: float = 20.0, what: str = ""
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.05)


def in_process_app(
    settings: Settings, conversation_id: str, **options: Any
) -> SnoopApp[InProcessCall]:
    """The panel with its call on the test's own loop, so a test can look inside the session.

    The product runs the call in its own process (`snoop_tui.launch.make_app`); the
    session and the panel are the same, only the pipe is missing."""
    return SnoopApp(conversation_id, InProcessCall(settings, conversation_id, **options))


def badge(app: SnoopApp[Any]) -> CallBadge:
    return app.screen.query_one(CallBadge)


@contextlib.asynccontextmanager
async def running_call(
    server: Any, conversation: tuple[str, str], script: tuple[Turn, ...] = SCRIPT, **options: Any
) -> AsyncIterator[LiveCall]:
    """A simulated call in the conversation's room, held at the start until `go` is set."""
    conversation_id, room_name = conversation
    go = asyncio.Event()
    options = {"words_per_second": 25, "pause_between_turns": 0.1, **options}
    call = SimulatedCall(
        server.url, server.api_key, server.api_secret, room_name, script, script_gate=go, **options
    )
    task = asyncio.create_task(call.run())
    try:
        await asyncio.wait_for(call.started.wait(), 20)
        yield LiveCall(conversation_id, room_name, call, go)
    finally:
        await call.stop()
        await task


async def list_participants(server: Any, room: str) -> list[Any]:
    async with api.LiveKitAPI(server.http_url, server.api_key, server.api_secret) as lk:
        response = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
    return list(response.participants)


async def observer_in(server: Any, room: str) -> bool:
    """Whether a hidden participant (a listener) is in the room."""
    return any(p.permission.hidden for p in await list_participants(server, room))

"""What was said before you joined, from the real local platform API through a call process.

The local platform answers `GET /core/conversations/{id}` with the transcript so far
(under `conversation`, only for a role that may read it, as the platform does); the
call process fetches it beside the join and sends it up the pipe as a `CallContext`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from snoop_tui.events import CallContext, CallEvent, CallState, StateChanged, TranscriptUpdated
from snoop_tui.platform import PlatformClient
from snoop_tui.process_call import CallProcess
from snoop_tui.settings import Secret, Settings
from snoop_tui.transcript import Role
from tests.fixtures_stack import PlatformApi
from tests.live import running_call

EARLIER = [
    {"role": "system", "content": "You are Ava, a billing agent."},
    {"role": "assistant", "content": "Thanks for calling, this is Ava.", "timestamp": 1},
    {"role": "user", "content": "My bill doubled \x1b[2J this month.", "timestamp": 4.5},
]


async def _until(events: list[CallEvent], what: str, done: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while not done():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def _contexts(events: list[CallEvent]) -> list[CallContext]:
    return [e for e in events if isinstance(e, CallContext)]


def _live(events: list[CallEvent]) -> bool:
    return any(isinstance(e, StateChanged) and e.state is CallState.LIVE for e in events)


async def context_then_a_final(
    settings: Settings, livekit_server: Any, conversation: tuple[str, str]
) -> list[CallEvent]:
    """A call process on a live call until its context, LIVE and a first final came."""
    events: list[CallEvent] = []
    async with running_call(livekit_server, conversation) as live:
        call = CallProcess(settings, conversation[0])
        await call.start(events.append)
        try:
            await _until(
                events, "the context and LIVE", lambda: bool(_contexts(events)) and _live(events)
            )
            live.go.set()
            await _until(
                events,
                "a final",
                lambda: any(isinstance(e, TranscriptUpdated) and e.segment.final for e in events),
            )
        finally:
            await call.stop()
    return events


async def test_the_call_context_brings_what_was_said_before_joining(
    settings: Settings,
    platform_api: PlatformApi,
    livekit_server: Any,
    new_conversation: tuple[str, str],
) -> None:
    conversation_id, _ = new_conversation
    created = platform_api.patch_conversation(conversation_id, transcript=EARLIER)["created_at"]
    started = datetime.fromisoformat(created)
    events = await context_then_a_final(settings, livekit_server, new_conversation)
    (context,) = _contexts(events)
    assert context.started_at == started and context.history_available
    assert [(line.role, line.text) for line in context.history] == [
        (Role.AGENT, "Thanks for calling, this is Ava."),
        (Role.CALLER, "My bill doubled ␛[2J this month."),
    ]
    assert [line.at for line in context.history] == [
        started + timedelta(seconds=1),  # seconds into the call
        started + timedelta(seconds=4.5),
    ]


@pytest.mark.parametrize(
    "transcript",
    [None, 42, {"weird": [1, 2]}, [1, "two", None], [{"unrelated": True}]],
    ids=["absent", "a number", "an unknown object", "a list of garbage", "unknown turns"],
)
async def test_absent_or_malformed_history_is_tolerated_and_the_call_goes_on(
    settings: Settings,
    platform_api: PlatformApi,
    livekit_server: Any,
    new_conversation: tuple[str, str],
    transcript: Any,
) -> None:
    conversation_id, _ = new_conversation
    platform_api.patch_conversation(conversation_id, transcript=transcript)
    events = await context_then_a_final(settings, livekit_server, new_conversation)
    (context,) = _contexts(events)
    assert context.history == () and not context.history_available
    assert context.started_at is not None


async def test_only_a_role_that_may_read_it_is_given_the_transcript(
    platform_api: PlatformApi, new_conversation: tuple[str, str]
) -> None:
    conversation_id, _ = new_conversation
    platform_api.patch_conversation(conversation_id, transcript=EARLIER)
    seen = {}
    for credential in ("ak_demo_sensitive", "ak_demo_manage", "ak_demo_readonly"):
        settings = Settings(api_url=platform_api.base_url, credential=Secret(credential))
        async with PlatformClient(settings) as client:
            detail = await client.conversation_detail(conversation_id)
        assert detail.conversation.status == "in_progress" and detail.started_at is not None
        seen[credential] = (detail.history_available, len(detail.history))
    assert seen == {
        "ak_demo_sensitive": (True, 2),
        "ak_demo_manage": (True, 2),
        "ak_demo_readonly": (False, 0),
    }

"""The demo's call board: several real calls, each in its own room, that ring, end and arrive.

One bounded run of the real stack (livekit-server, the platform API, a process per
call) with short timings, checked through the platform listing and LiveKit's own API.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

import pytest
from livekit import api

from snoop_tui.board_model import ConversationSummary
from snoop_tui.demo.stack import DemoTimings, LocalStack, board_calls
from snoop_tui.platform import PlatformClient
from snoop_tui.settings import Secret, Settings

TIMINGS = DemoTimings(answer_after=2.0, end_after=5.0, arrive_after=1.5)


async def agents_in_rooms(stack: LocalStack, rooms: list[str]) -> dict[str, list[str]]:
    """The names of the agent participants in each room (LiveKit's own view)."""
    livekit = stack.livekit
    found: dict[str, list[str]] = {}
    async with api.LiveKitAPI(livekit.http_url, livekit.api_key, livekit.api_secret) as lk:
        for room in rooms:
            found[room] = []
            try:
                request = api.ListParticipantsRequest(room=room)
                listing = await lk.room.list_participants(request)
            except api.TwirpError:  # the room closed once everyone left
                continue
            agent = api.ParticipantInfo.Kind.AGENT
            found[room] = [p.name for p in listing.participants if p.kind == agent]
    return found


async def wait_for_listing(
    client: PlatformClient,
    done: Callable[[dict[str, ConversationSummary]], bool],
    timeout: float = 20.0,
) -> dict[str, ConversationSummary]:
    deadline = time.monotonic() + timeout
    while True:
        listed = {c.id: c for c in await client.list_live_conversations()}
        if done(listed) or time.monotonic() > deadline:
            return listed
        await asyncio.sleep(0.25)


def status_of(listed: dict[str, ConversationSummary], conversation_id: str) -> str:
    """The listed status of a conversation; "" once it has left the listing."""
    found = listed.get(conversation_id)
    return found.status if found is not None else ""


@pytest.mark.stack
async def test_demo_board_runs_several_calls_that_ring_end_and_arrive() -> None:
    calls = board_calls(TIMINGS)
    rooms = {c.conversation_id: c.room_name for c in calls if c.has_audio}
    async with LocalStack(calls=calls, words_per_second=8) as stack:
        assert stack.conversation_id == "conv_demo"
        settings = Settings(api_url=stack.api_url, credential=Secret(stack.credential))
        async with PlatformClient(settings) as client:
            first = {c.id: c for c in await client.list_live_conversations()}
            talking = [c for c in first.values() if c.listenable]
            assert len(talking) >= 3
            assert len({c.agent_name for c in talking}) == len(talking)
            assert len({c.caller for c in talking}) == len(talking)
            assert len({c.agent_number for c in talking}) == len(talking)
            assert first["conv_demo_tech"].status == "ringing"
            assert first["conv_demo"].status == "in_progress"
            assert "conv_demo_scheduling" not in first
            assert not first["conv_demo_email"].listenable
            present = [cid for cid in first if cid in rooms]
            agents = await agents_in_rooms(stack, [rooms[cid] for cid in present])
            assert {room: names for room, names in agents.items()} == {
                rooms[cid]: [first[cid].agent_name] for cid in present
            }

            answered = await wait_for_listing(
                client, lambda listed: status_of(listed, "conv_demo_tech") == "in_progress"
            )
            log = stack.log_dir / "call-conv_demo_tech.log"
            said = log.read_text(errors="replace")
            assert status_of(answered, "conv_demo_tech") == "in_progress", said[-2000:]
            assert "call talking" in said

            arrived = await wait_for_listing(
                client,
                lambda listed: status_of(listed, "conv_demo_scheduling") == "in_progress",
            )
            assert arrived["conv_demo_scheduling"].agent_name == "Scheduling Assistant"

            ended = await wait_for_listing(
                client, lambda listed: "conv_demo_retention" not in listed
            )
            assert "conv_demo_retention" not in ended
            assert (await client.conversation("conv_demo_retention")).status == "completed"
            gone = await agents_in_rooms(stack, [rooms["conv_demo_retention"]])
            assert gone[rooms["conv_demo_retention"]] == []
            assert {"conv_demo", "conv_demo_tech", "conv_demo_scheduling"} <= set(ended)
        pids = stack.pids
        assert len(pids) == 2 + len(rooms)  # livekit-server, the platform API, four calls
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

"""The board on the real local platform API, opening real calls in real call processes.

The platform API is the module's own (no other test's conversations in it): each test
clears it and puts the live calls it wants, with a real simulated call in one room.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from snoop_tui.app import SnoopApp
from snoop_tui.demo.stack import spawn_platform_api, wait_for_port_file
from snoop_tui.events import CallState
from snoop_tui.launch import make_board_app
from snoop_tui.process_call import CallProcess
from snoop_tui.screens.board import BoardScreen, BoardStatus
from snoop_tui.screens.panel import PanelScreen
from snoop_tui.settings import Secret, Settings
from tests.fixtures_stack import PlatformApi
from tests.live import running_call, wait_for
from tests.terminal import gone

SIZE = (110, 30)
CREDENTIAL = "ak_demo_sensitive"


def listed(app: SnoopApp[CallProcess]) -> list[str]:
    assert app.board is not None
    return [row.id for row in app.board.calls.rows if not row.ended]


def highlighted(app: SnoopApp[CallProcess]) -> str | None:
    assert app.board is not None
    row = app.board.calls.highlighted
    return row.id if row is not None else None


@asynccontextmanager
async def board(api: PlatformApi, refresh: float = 1.0) -> AsyncIterator[tuple[Any, Pilot[None]]]:
    settings = Settings(api_url=api.base_url, credential=Secret(CREDENTIAL), board_refresh=refresh)
    app = make_board_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        yield app, pilot


def put_calls(api: PlatformApi, count: int, **fields: Any) -> list[str]:
    ids = [f"conv_b{secrets.token_hex(3)}_{n}" for n in range(count)]
    api.put_conversations([{"id": i, "status": "in_progress", **fields} for i in ids])
    return ids


async def test_the_board_lists_live_calls_and_opens_one_then_comes_back(
    empty_platform_api: PlatformApi, livekit_server: Any
) -> None:
    api = empty_platform_api
    others = put_calls(api, 3, agent_name="Tech Support")
    api.put_conversation("conv_ended", status="completed", room_name="r-ended")
    api.put_conversation("conv_starting", status="token_created", room_name="r-starting")
    suffix = secrets.token_hex(3)
    conversation = (f"conv_live_{suffix}", f"room-live-{suffix}")
    api.put_conversation(
        conversation[0], status="in_progress", room_name=conversation[1], agent_name="Billing"
    )
    async with running_call(livekit_server, conversation, end_by_agent_leaving=False) as live:
        live.go.set()
        async with board(api) as (app, pilot):
            await wait_for(pilot, lambda: len(listed(app)) == 4, what="the four live calls")
            assert set(listed(app)) == {*others, conversation[0]}  # no ended, no token_created
            while highlighted(app) != conversation[0]:
                await pilot.press("down")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, PanelScreen), what="the panel")
            panel = app.screen
            await wait_for(pilot, lambda: panel.call_state is CallState.LIVE, what="LIVE")
            pid = panel.call.pid
            await wait_for(pilot, lambda: len(panel.transcript.segments()) > 0, what="speech")
            await pilot.press("x")
            await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen), what="the board")
            assert highlighted(app) == conversation[0]
            await wait_for(pilot, lambda: pid is not None and gone(pid), 3.0, "the call to end")
            assert app.is_running


async def test_calls_that_end_go_and_calls_that_start_come(
    empty_platform_api: PlatformApi,
) -> None:
    api = empty_platform_api
    first, second = put_calls(api, 2)
    async with board(api) as (app, pilot):
        await wait_for(pilot, lambda: len(listed(app)) == 2, what="two calls")
        api.patch_conversation(first, status="completed")
        (arrived,) = put_calls(api, 1, agent_name="Scheduling")
        await wait_for(
            pilot, lambda: set(listed(app)) == {second, arrived}, what="one ended, one new"
        )
        rows = {row.id: row for row in app.board.calls.rows}
        assert rows[arrived].is_new and rows[first].ended  # the ended one fades out


async def test_the_board_pages_through_many_calls(empty_platform_api: PlatformApi) -> None:
    api = empty_platform_api
    put_calls(api, 230)  # three pages of 100 for one status
    async with board(api, refresh=60) as (app, pilot):
        await wait_for(pilot, lambda: len(listed(app)) == 230, what="every page")
        assert app.board.calls.virtual_size.height == 230


async def test_an_unreachable_platform_mid_session_leaves_the_list_stale(
    livekit_server: Any, tmp_path: Path
) -> None:
    process, port_file = spawn_platform_api(livekit_server, tmp_path)
    try:
        api = PlatformApi(wait_for_port_file(process, port_file), process, livekit_server)
        put_calls(api, 2)
        settings = Settings(api_url=api.base_url, credential=Secret(CREDENTIAL), board_refresh=1.0)
        app = make_board_app(settings)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: len(listed(app)) == 2, what="two calls")
            process.stop()  # the platform goes away mid-session
            assert app.board is not None
            status = app.board.query_one(BoardStatus)
            await wait_for(pilot, lambda: bool(status.problem), 15.0, "the stale mark")
            line = str(status.render())
            assert "stale: last updated" in line and "Platform unreachable" in line
            assert "Retrying in" in line
            assert len(listed(app)) == 2  # the last good list stays
            assert app.is_running
    finally:
        process.stop()

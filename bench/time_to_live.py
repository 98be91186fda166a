"""Time to LIVE: from "open this conversation" to the LIVE badge, on the real local stack.

Measures two paths over N runs against a real livekit-server and the local platform
API, with a simulated call in the room:

- core:  PlatformClient.listener_token -> check_listener_grant -> ListenerSession.connect
- panel: the Textual app from start until its badge reads LIVE (headless, Pilot)

and prints medians and spreads as a Markdown table. Run:

    .venv/bin/python -m bench.time_to_live --runs 15
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import resource
import statistics
import time
import uuid

from snoop_tui.demo.call import SimulatedCall
from snoop_tui.demo.livekit_server import LocalLiveKitServer
from snoop_tui.demo.platform_api import Conversation, PlatformState, start_platform_api
from snoop_tui.grants import check_listener_grant
from snoop_tui.launch import make_app
from snoop_tui.platform import PlatformClient
from snoop_tui.session import CallState, ListenerSession
from snoop_tui.settings import Secret, Settings
from snoop_tui.widgets.badge import CallBadge


async def _core_once(settings: Settings, conversation_id: str) -> float:
    start = time.perf_counter()
    async with PlatformClient(settings) as client:
        grant = await client.listener_token(conversation_id)
    check_listener_grant(grant)
    session = ListenerSession(grant, on_event=lambda _event: None)
    await session.connect()
    elapsed = time.perf_counter() - start
    await session.stop()
    return elapsed


async def _panel_once(settings: Settings, conversation_id: str) -> float:
    app = make_app(settings, conversation_id)  # the product: the call in its own process
    start = time.perf_counter()
    async with app.run_test(size=(100, 30)) as pilot:
        badge = app.screen.query_one(CallBadge)
        while badge.state is not CallState.LIVE:
            await pilot.pause(0.005)
        elapsed = time.perf_counter() - start
        await pilot.press("x")
    return elapsed


def _row(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
    return (
        f"| {name} | {len(ms)} | {statistics.median(ms):.0f} | {ms[0]:.0f} | {p90:.0f} | "
        f"{ms[-1]:.0f} |"
    )


async def main(runs: int) -> None:
    with LocalLiveKitServer() as server:
        state = PlatformState(server.url, server.api_key, server.api_secret)
        runner, base_url = await start_platform_api(state)
        room = f"bench-{uuid.uuid4().hex[:8]}"
        state.conversations["conv_bench"] = Conversation(id="conv_bench", room_name=room)
        call = SimulatedCall(
            server.url, server.api_key, server.api_secret, room, loops=None, words_per_second=8
        )
        call_task = asyncio.create_task(call.run())
        try:
            await asyncio.wait_for(call.started.wait(), 30)
            settings = Settings(api_url=base_url, credential=Secret("ak_demo_sensitive"))
            await _core_once(settings, "conv_bench")  # warm-up: FFI start, first connection
            core = [await _core_once(settings, "conv_bench") for _ in range(runs)]
            panel = [await _panel_once(settings, "conv_bench") for _ in range(runs)]
        finally:
            await call.stop()
            await call_task
            await runner.cleanup()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {runs} runs each"
    )
    print("| path | runs | median ms | min ms | p90 ms | max ms |")
    print("|---|---|---|---|---|---|")
    print(_row("core: token + grant check + join", core))
    print(_row("panel: app start to LIVE badge", panel))
    print(f"\npeak RSS of the whole benchmark process: {rss_mib:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    asyncio.run(main(parser.parse_args().runs))

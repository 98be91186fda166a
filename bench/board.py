"""The board with 500 live calls: a refresh (fetch + render), and keys while it refreshes.

Runs the local platform API (its own process, as a remote platform would be) with
500 in-progress conversations and the real board app (headless Textual, the
product's `make_board_app`):

- refresh: from pressing `r` to the board showing the new listing (every page
  fetched over HTTP, parsed, merged, and the visible rows drawn), and its two parts
  measured apart: the fetch alone, and the model update plus redraw alone;
- keys: the cursor moved 200 times while the board refreshes every second, each timed
  from the key's action to the end of the frame that shows it (Textual then sends
  that frame at its next tick, at most 1/60 s later).

    .venv/bin/python -m bench.board [--calls 500] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from snoop_tui.demo.livekit_server import LocalLiveKitServer
from snoop_tui.demo.stack import spawn_platform_api, wait_for_port_file
from snoop_tui.launch import make_board_app
from snoop_tui.platform import PlatformClient
from snoop_tui.screens.board import BoardStatus
from snoop_tui.settings import Secret, Settings


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def row(name: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (
        f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {percentile(ms, 0.95):.1f} | "
        f"{max(ms):.1f} |"
    )


async def main(calls: int, rounds: int) -> None:
    with LocalLiveKitServer() as server, tempfile.TemporaryDirectory() as workdir:
        process, port_file = spawn_platform_api(server, Path(workdir))
        base_url = wait_for_port_file(process, port_file)
        start = datetime.now(UTC)
        conversations = [
            {
                "id": f"conv_{n:04d}",
                "status": "in_progress",
                "agent_name": f"Agent {n % 40}",
                "created_at": (start - timedelta(seconds=7 * n)).isoformat(),
            }
            for n in range(calls)
        ]
        httpx.put(f"{base_url}/_local/conversations", json=conversations, trust_env=False)
        settings = Settings(api_url=base_url, credential=Secret("ak_demo_sensitive"))
        try:
            fetch = []
            async with PlatformClient(settings) as client:
                await client.list_live_conversations()  # warm-up
                for _ in range(rounds):
                    began = time.perf_counter()
                    listed = await client.list_live_conversations()
                    fetch.append(time.perf_counter() - began)
            assert len(listed) == calls, len(listed)
            refresh, redraw, keys = await _board(settings, calls, rounds)
        finally:
            process.stop()
    print(f"{calls} live calls, {rounds} rounds; times in ms")
    print("| measure | samples | median | p95 | max |")
    print("|---|---|---|---|---|")
    print(row("refresh: `r` to the new listing on screen (fetch + render)", refresh))
    print(row("fetch alone (every page, parsed and merged)", fetch))
    print(row("model update + redraw + frame, in one go on the loop", redraw))
    print(row("key → screen while refreshing every second", keys))


async def _board(
    settings: Settings, calls: int, rounds: int
) -> tuple[list[float], list[float], list[float]]:
    app = make_board_app(settings)
    refresh, redraw, keys = [], [], []
    async with app.run_test(size=(120, 40)) as pilot:
        board = app.board
        assert board is not None
        status = board.query_one(BoardStatus)
        while len(board.calls.rows) < calls:
            await pilot.pause(0.05)
        for _ in range(rounds):
            before = status.refreshed_at
            began = time.perf_counter()
            await pilot.press("r")
            while status.refreshed_at == before:
                await asyncio.sleep(0.001)
            await pilot.pause()  # the frame that shows it
            refresh.append(time.perf_counter() - began)
        listing = [r.call for r in board.board.rows()]
        screen = app.screen
        for _ in range(rounds):  # what a refresh does on the loop in one go, and the frame
            began = time.perf_counter()
            board.board.update(listing)
            board._show_rows()
            screen._compositor_refresh()
            redraw.append(time.perf_counter() - began)
            await pilot.pause()
        board.refresh_seconds = 1.0
        board.refresh_calls()
        for n in range(200):
            # The key's work and the frame that shows it, timed as they run on the loop;
            # Textual then waits at most one frame (1/60 s) to put it on the terminal.
            began = time.perf_counter()
            board.calls.action_move(1 if n % 50 < 25 else -1)
            screen._compositor_refresh()
            keys.append(time.perf_counter() - began)
            await asyncio.sleep(0.02)
    return refresh, redraw, keys


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    options = parser.parse_args()
    asyncio.run(main(options.calls, options.rounds))

"""Regenerate screenshots/*.svg: the panel muted, listening, without audio, and ended.

Runs the real local stack (livekit-server, the platform API, a simulated call) and a
private PulseAudio null sink as the audio output, drives the real app at 80x24 (an
SSH terminal), and saves what it shows. Run: `scripts/screenshots`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from snoop_tui.app import SnoopApp, make_app  # noqa: E402
from snoop_tui.demo.call import DEFAULT_SCRIPT, SimulatedCall  # noqa: E402
from snoop_tui.demo.livekit_server import LocalLiveKitServer  # noqa: E402
from snoop_tui.demo.platform_api import (  # noqa: E402
    Conversation,
    PlatformState,
    start_platform_api,
)
from snoop_tui.session import CallState  # noqa: E402
from snoop_tui.settings import Secret, Settings  # noqa: E402
from snoop_tui.widgets.badge import CallBadge  # noqa: E402
from snoop_tui.widgets.transcript_view import TranscriptView  # noqa: E402
from tests.fixtures_audio import private_null_sink  # noqa: E402
from tests.live import running_call  # noqa: E402

OUT = ROOT / "screenshots"
SIZE = (80, 24)
CONVERSATION = "conv_demo"
SCRIPT = DEFAULT_SCRIPT[:6]


async def _until(pilot: Any, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("the panel did not reach the expected state")
        await pilot.pause(0.05)


def _save(app: SnoopApp, name: str) -> None:
    app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
    print(f"wrote screenshots/{name}.svg")


async def _shoot(settings: Settings, call: SimulatedCall, go: asyncio.Event) -> None:
    app = make_app(settings, CONVERSATION)
    async with app.run_test(size=SIZE) as pilot:
        badge = app.screen.query_one(CallBadge)
        view = app.screen.query_one(TranscriptView)
        await _until(pilot, lambda: badge.state is CallState.LIVE)
        go.set()
        await _until(pilot, lambda: sum(s.final for s in view.segments()) == len(SCRIPT))
        await pilot.pause(1.0)  # let the speaking indicators settle
        _save(app, "panel-muted")
        await pilot.press("l")
        await _until(pilot, lambda: app.session is not None and app.session.listening)
        await pilot.pause(0.5)
        _save(app, "panel-listening")
        await call.leave_agent()
        await _until(pilot, lambda: badge.state is CallState.ENDED)
        await pilot.pause(0.3)
        _save(app, "panel-ended")


async def _shoot_no_audio(settings: Settings) -> None:
    app = make_app(settings, CONVERSATION)
    async with app.run_test(size=SIZE) as pilot:
        badge = app.screen.query_one(CallBadge)
        await _until(pilot, lambda: badge.state is CallState.LIVE)
        await pilot.press("l")
        await pilot.pause(0.3)
        _save(app, "panel-no-audio-output")


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    with LocalLiveKitServer() as server, private_null_sink():
        state = PlatformState(server.url, server.api_key, server.api_secret)
        runner, base_url = await start_platform_api(state)
        room = f"call-{CONVERSATION}"
        state.conversations[CONVERSATION] = Conversation(id=CONVERSATION, room_name=room)
        settings = Settings(api_url=base_url, credential=Secret("ak_demo_sensitive"))
        call_options: dict[str, Any] = {
            "words_per_second": 12,
            "pause_between_turns": 0.2,
            "end_by_agent_leaving": False,
        }
        try:
            async with running_call(server, (CONVERSATION, room), SCRIPT, **call_options) as live:
                await _shoot(settings, live.call, live.go)
            async with running_call(server, (CONVERSATION, room), SCRIPT, **call_options):
                no_device = Settings(
                    api_url=base_url,
                    credential=Secret("ak_demo_sensitive"),
                    output_device="Headset",
                )
                await _shoot_no_audio(no_device)
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())

"""Listening on a real call into a real (null) audio sink: focus, volume, a device that goes away.

Also the platform's word on the call: a terminal conversation status ends the panel.
"""

from __future__ import annotations

import asyncio
from typing import Any

from snoop_tui.session import CallState
from snoop_tui.settings import Settings
from snoop_tui.transcript import Role
from snoop_tui.widgets.transcript_view import TranscriptView
from tests.fixtures_audio import band_energy, peak
from tests.live import (
    SCRIPT,
    SIZE,
    LiveCall,
    badge,
    in_process_app,
    list_participants,
    running_call,
    wait_for,
)

AGENT_HZ, CALLER_HZ = 440.0, 660.0


def activity(app: Any) -> str:
    return str(app.screen.query_one("#activity").render())


async def test_focus_cycles_agent_only_caller_only_and_volume_keys_change_the_level(
    settings: Settings, livekit_server: Any, new_conversation: Any, null_sink: Any
) -> None:
    async with running_call(
        livekit_server, new_conversation, continuous_audio=True, end_by_agent_leaving=False
    ) as live:
        app = in_process_app(settings, live.conversation_id)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: badge(app).state is CallState.LIVE)
            assert app.call.session is not None
            await pilot.press("l")
            await wait_for(
                pilot, lambda: app.call.session is not None and app.call.session.listening
            )
            await pilot.pause(0.5)

            await pilot.press("f")  # both -> agent only
            assert (
                app.call.session.audio_focus is Role.AGENT
                and "hearing the agent only" in activity(app)
            )
            await pilot.pause(0.3)
            with null_sink.recording() as agent_only:
                await pilot.pause(1.5)
            assert band_energy(agent_only.samples, agent_only.rate, AGENT_HZ) > 0.1
            assert band_energy(agent_only.samples, agent_only.rate, CALLER_HZ) < 0.01

            await pilot.press("f")  # agent only -> caller only
            assert (
                app.call.session.audio_focus is Role.CALLER
                and "hearing the caller only" in activity(app)
            )
            await pilot.pause(0.3)
            with null_sink.recording() as caller_only:
                await pilot.pause(1.5)
            assert band_energy(caller_only.samples, caller_only.rate, CALLER_HZ) > 0.1
            assert band_energy(caller_only.samples, caller_only.rate, AGENT_HZ) < 0.01
            loud = peak(caller_only.samples)

            for _ in range(5):
                await pilot.press("minus")
            assert "50%" in activity(app)
            await pilot.pause(0.3)
            with null_sink.recording() as quieter:
                await pilot.pause(1.0)
            assert 0 < peak(quieter.samples) < 0.7 * loud

            await pilot.press("f")  # caller only -> both
            assert app.call.session.audio_focus is None and "only" not in activity(app)


async def test_output_device_that_disappears_stops_playback_with_a_notice(
    settings: Settings, livekit_server: Any, new_conversation: Any, null_sink: Any
) -> None:
    async with running_call(
        livekit_server, new_conversation, continuous_audio=True, words_per_second=10
    ) as live:
        app = in_process_app(settings, live.conversation_id)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: badge(app).state is CallState.LIVE)
            await pilot.press("l")
            await wait_for(
                pilot, lambda: app.call.session is not None and app.call.session.listening
            )
            live.go.set()
            with null_sink.unplugged():
                await wait_for(
                    pilot,
                    lambda: app.call.session is not None and not app.call.session.listening,
                    what="playback to stop",
                )

                def message() -> str:
                    return str(app.screen.query_one("#message").render())

                # The session has stopped; its event reaches the panel through the queue.
                await wait_for(
                    pilot, lambda: "transcript keeps streaming" in message(), what="the notice"
                )
                assert "transcript keeps streaming" in message()
                assert "muted" in activity(app)
            view = app.screen.query_one(TranscriptView)
            await wait_for(
                pilot, lambda: sum(s.final for s in view.segments()) == len(SCRIPT), what="text"
            )
            assert badge(app).state in (CallState.LIVE, CallState.ENDED)


async def test_terminal_conversation_status_ends_the_call_and_leaves_the_room(
    settings: Settings, platform_api: Any, livekit_server: Any, live_call: LiveCall
) -> None:
    app = in_process_app(settings, live_call.conversation_id, status_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: badge(app).state is CallState.LIVE)
        assert app.call.session is not None
        me = app.call.session.identity
        platform_api.patch_conversation(live_call.conversation_id, status="transferred")
        await wait_for(pilot, lambda: badge(app).state is CallState.ENDED, what="Ended")
        assert "now transferred" in str(app.screen.query_one("#message").render())
        identities: set[str] = {me}
        deadline = asyncio.get_running_loop().time() + 10  # the end grace, then the leave
        while me in identities and asyncio.get_running_loop().time() < deadline:
            await pilot.pause(0.2)
            listed = await list_participants(livekit_server, live_call.room_name)
            identities = {p.identity for p in listed}
        assert me not in identities
        assert live_call.call.agent_identity in identities

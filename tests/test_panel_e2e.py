"""The real app, driven by Pilot, against the real local stack (livekit-server + platform API)."""

from __future__ import annotations

import asyncio
from typing import Any

from snoop_tui.errors import UnsafeListenerToken
from snoop_tui.screens.panel import NOTICE
from snoop_tui.session import CallState
from snoop_tui.settings import Secret, Settings
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


async def test_live_badge_and_notice_appear(settings: Settings, live_call: LiveCall) -> None:
    app = in_process_app(settings, live_call.conversation_id)
    async with app.run_test(size=SIZE) as pilot:
        assert badge(app).label == "◌ Connecting…"
        await wait_for(pilot, lambda: badge(app).state is CallState.LIVE, what="LIVE")
        assert str(badge(app).render()).strip() == "● LIVE"
        assert badge(app).has_class("-live")
        screen_text = str(app.screen.query_one("#notice").render())
        assert screen_text == NOTICE
        details = str(app.screen.query_one("#details").render())
        assert live_call.conversation_id in details and live_call.room_name in details
        assert "muted" in str(app.screen.query_one("#activity").render())


async def test_transcript_streams_while_muted_each_final_once_in_order(
    settings: Settings, live_call: LiveCall
) -> None:
    app = in_process_app(settings, live_call.conversation_id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: badge(app).state is CallState.LIVE)
        live_call.go.set()
        view = app.screen.query_one(TranscriptView)
        await wait_for(
            pilot,
            lambda: sum(s.final for s in view.segments()) == len(SCRIPT),
            what="every final segment",
        )
        shown = [(s.id, s.role.value, s.text) for s in view.segments()]
        published = [(p.segment_id, p.role, p.text) for p in live_call.call.published_finals]
        assert shown == published
        assert {Role.AGENT, Role.CALLER} == {s.role for s in view.segments()}
        assert "Agent" in view.lines()[0] and "Caller" in view.lines()[1]
        assert app.call.session is not None and not app.call.session.player.is_open


async def test_badge_reads_ended_when_the_agent_leaves(
    settings: Settings, live_call: LiveCall
) -> None:
    app = in_process_app(settings, live_call.conversation_id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: badge(app).state is CallState.LIVE)
        await live_call.call.leave_agent()
        await wait_for(pilot, lambda: badge(app).state is CallState.ENDED, what="Ended")
        assert badge(app).label == "■ Ended"
        message = str(app.screen.query_one("#message").render())
        assert "agent left" in message
        assert app.screen.query_one("#listen").disabled


async def test_observer_is_hidden_silent_and_unseen(
    settings: Settings, live_call: LiveCall, livekit_server: Any
) -> None:
    app = in_process_app(settings, live_call.conversation_id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: badge(app).state is CallState.LIVE)
        live_call.go.set()
        await asyncio.sleep(1.0)
        assert app.call.session is not None
        me = app.call.session.identity
        participants = {
            p.identity: p for p in await list_participants(livekit_server, live_call.room_name)
        }
        observer = participants[me]
        assert observer.permission.hidden
        assert not observer.permission.can_publish
        assert not observer.permission.can_publish_data
        assert len(observer.tracks) == 0
        assert me not in live_call.call.seen_participants
        assert live_call.call.agent_identity in participants


async def test_stop_leaves_the_room_and_closes_the_panel(
    settings: Settings, live_call: LiveCall, livekit_server: Any
) -> None:
    app = in_process_app(settings, live_call.conversation_id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: badge(app).state is CallState.LIVE)
        assert app.call.session is not None
        me = app.call.session.identity
        assert me in {
            p.identity for p in await list_participants(livekit_server, live_call.room_name)
        }
        await pilot.press("x")
        await pilot.pause(0.2)
    assert app.return_code == 0
    identities = {p.identity for p in await list_participants(livekit_server, live_call.room_name)}
    assert me not in identities
    assert live_call.call.agent_identity in identities


async def test_unsafe_token_is_refused_before_any_connection(
    settings: Settings, platform_api: Any, livekit_server: Any, live_call: LiveCall
) -> None:
    platform_api.patch_conversation(live_call.conversation_id, fault="publisher_token")
    app = in_process_app(settings, live_call.conversation_id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.failure is not None, what="the refusal")
    assert isinstance(app.failure, UnsafeListenerToken)
    assert "could publish" in app.failure.message
    assert app.return_code == UnsafeListenerToken.exit_code
    assert app.call.session is not None and app.call.session.identity == ""
    participants = await list_participants(livekit_server, live_call.room_name)
    assert not [p for p in participants if p.permission.hidden]


async def test_listen_plays_both_sides_and_mute_stops_them(
    settings: Settings, livekit_server: Any, new_conversation: Any, null_sink: Any
) -> None:
    async with running_call(
        livekit_server, new_conversation, continuous_audio=True, end_by_agent_leaving=False
    ) as live:
        app = in_process_app(settings, live.conversation_id)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: badge(app).state is CallState.LIVE)
            assert app.call.session is not None
            player = app.call.session.player
            with null_sink.recording() as before:
                await pilot.pause(1.0)
            assert not player.is_open and peak(before.samples) == 0

            await pilot.press("l")
            await wait_for(pilot, lambda: player.stats.frames_played > 0, what="audio frames")
            assert "listening" in str(app.screen.query_one("#activity").render())
            await pilot.pause(0.5)
            with null_sink.recording() as during:
                await pilot.pause(2.0)
            assert band_energy(during.samples, during.rate, 440.0) > 0.1, "agent not heard"
            assert band_energy(during.samples, during.rate, 660.0) > 0.1, "caller not heard"

            await pilot.press("m")
            await wait_for(pilot, lambda: not player.is_open, what="mute")
            played = player.stats.frames_played
            await pilot.pause(0.3)
            with null_sink.recording() as after:
                await pilot.pause(1.0)
            assert player.stats.frames_played == played
            assert peak(after.samples) == 0
            assert "muted" in str(app.screen.query_one("#activity").render())


async def test_transcript_follows_new_text_unless_scrolled_up(
    settings: Settings, livekit_server: Any, new_conversation: Any
) -> None:
    async with running_call(
        livekit_server, new_conversation, SCRIPT * 3, words_per_second=20
    ) as live:
        app = in_process_app(settings, live.conversation_id)
        async with app.run_test(size=(80, 14)) as pilot:
            await wait_for(pilot, lambda: badge(app).state is CallState.LIVE)
            live.go.set()
            view = app.screen.query_one(TranscriptView)
            await wait_for(pilot, lambda: view.max_scroll_y > 0, what="more text than fits")
            await pilot.pause(0.2)
            assert view.is_vertical_scroll_end

            view.scroll_home(animate=False)
            count = len(view.segments())
            await wait_for(pilot, lambda: len(view.segments()) >= count + 3, what="more segments")
            await pilot.pause(0.2)
            assert view.scroll_offset.y == 0, "scrolled-up reader was pulled down"

            view.scroll_end(animate=False)
            await pilot.pause(0.1)
            count = len(view.segments())
            await wait_for(pilot, lambda: len(view.segments()) > count + 1, what="more text")
            await pilot.pause(0.2)
            assert view.is_vertical_scroll_end


async def test_listen_without_audio_output_explains_and_transcript_goes_on(
    platform_api: Any, live_call: LiveCall
) -> None:
    settings = Settings(
        api_url=platform_api.base_url,
        credential=Secret("ak_demo_sensitive"),
        output_device="no-such-device",
    )
    app = in_process_app(settings, live_call.conversation_id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: badge(app).state is CallState.LIVE)
        await pilot.press("l")
        await pilot.pause(0.2)
        message = str(app.screen.query_one("#message").render())
        assert "no-such-device" in message and "snoop-tui help audio" in message
        assert app.call.session is not None and not app.call.session.listening
        live_call.go.set()
        view = app.screen.query_one(TranscriptView)
        await wait_for(pilot, lambda: sum(s.final for s in view.segments()) == len(SCRIPT))

"""The call's lifecycle without a server: each transition, with a fake room and tiny waits.

What a supervisor sees is the sequence of states and the reason an ENDED call
gives; those are what these tests assert. Waits are awaited (`settled`), never slept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from livekit import rtc

from snoop_tui.errors import RoomConnectError
from snoop_tui.events import CallState
from snoop_tui.lifecycle import (
    AGENT_DROPPED,
    AGENT_LEFT,
    CONNECTION_LOST,
    FINAL_DISCONNECTS,
    TOKEN_MARGIN,
    CallLifecycle,
    Timing,
)
from snoop_tui.platform import ListenerGrant
from tests.session_fakes import EXPIRES_AT, FakeRoom, grant

CONNECTING, LIVE, RECONNECTING = CallState.CONNECTING, CallState.LIVE, CallState.RECONNECTING
ENDED, LEFT = CallState.ENDED, CallState.LEFT
FAST = Timing(
    rejoin_deadline=0.1,
    first_retry=0.005,
    max_retry=0.02,
    agent_return=0.05,
    agent_poll=0.005,
    end_grace=0.0,
)
NOT_FINAL = [r for r in rtc.DisconnectReason.values() if r not in FINAL_DISCONNECTS]


class Call:
    """A lifecycle on a fake room, recording what the panel would be told."""

    def __init__(
        self,
        timing: Timing = FAST,
        *,
        now: datetime = EXPIRES_AT - timedelta(hours=1),
        fresh_token: str | None = None,
    ) -> None:
        self.room = FakeRoom()
        self.shown: list[tuple[CallState, str | None]] = []
        self.refreshes = 0
        self.fresh_token = fresh_token
        self.lifecycle = CallLifecycle(
            grant(),
            self.room.side(),
            on_change=lambda state, reason: self.shown.append((state, reason)),
            refresh_grant=self.refresh if fresh_token else None,
            timing=timing,
            clock=lambda: now,
        )

    async def refresh(self) -> ListenerGrant:
        self.refreshes += 1
        assert self.fresh_token is not None
        return grant(self.fresh_token)

    async def live(self) -> Call:
        await self.lifecycle.start()
        return self

    @property
    def history(self) -> list[CallState]:
        return self.lifecycle.history

    @property
    def reason(self) -> str | None:
        """The reason given with the last state shown."""
        return self.shown[-1][1]


def every_signal(call: Call) -> list[Callable[[], object]]:
    """Every signal the room side can send, for tests of a call that is over."""
    lifecycle = call.lifecycle

    def agent_gone() -> None:
        call.room.agent = False

    return [
        lifecycle.reconnecting,
        lifecycle.reconnected,
        lambda: lifecycle.room_lost(rtc.DisconnectReason.SIGNAL_CLOSE),
        lambda: lifecycle.room_lost(rtc.DisconnectReason.ROOM_DELETED),
        lifecycle.stalled,
        lifecycle.resumed,
        agent_gone,
        lambda: lifecycle.agent_left(hung_up=False),
        lambda: lifecycle.agent_left(hung_up=True),
    ]


async def rejoin_waiting_on_the_server(call: Call) -> None:
    """Lose the room and return once the rejoin is stuck in a slow join."""
    call.room.hold = asyncio.Event()
    call.lifecycle.room_lost(rtc.DisconnectReason.SIGNAL_CLOSE)
    async with asyncio.timeout(1):
        while len(call.room.joined) < 2:
            await asyncio.sleep(0)


# joining ----------------------------------------------------------------------


async def test_joining_makes_the_call_live() -> None:
    call = await Call().live()
    assert call.history == [CONNECTING, LIVE]
    assert call.shown == [(LIVE, None)]


async def test_a_first_join_that_fails_raises_and_shows_nothing() -> None:
    call = Call()
    call.room.failures = 1
    with pytest.raises(RoomConnectError):
        await call.lifecycle.start()
    assert call.history == [CONNECTING] and call.shown == []


# disconnects ------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason", list(FINAL_DISCONNECTS), ids=[rtc.DisconnectReason.Name(r) for r in FINAL_DISCONNECTS]
)
async def test_a_final_disconnect_ends_the_call_with_its_reason(
    reason: rtc.DisconnectReason.ValueType,
) -> None:
    call = await Call().live()
    call.lifecycle.room_lost(reason)
    await call.lifecycle.settled()
    assert call.history == [CONNECTING, LIVE, ENDED]
    assert call.reason == FINAL_DISCONNECTS[reason]
    assert call.room.joined == ["first-token"], "a final disconnect never rejoins"
    assert call.room.silenced == 1 and call.room.left == 1


def test_each_final_disconnect_says_why() -> None:
    assert {rtc.DisconnectReason.Name(r): m for r, m in FINAL_DISCONNECTS.items()} == {
        "ROOM_DELETED": "The call's room was closed.",
        "ROOM_CLOSED": "The call's room was closed.",
        "PARTICIPANT_REMOVED": "The platform removed this listener from the call.",
        "DUPLICATE_IDENTITY": "Another listener joined with the same identity.",
    }


@pytest.mark.parametrize("reason", NOT_FINAL, ids=[rtc.DisconnectReason.Name(r) for r in NOT_FINAL])
async def test_any_other_disconnect_rejoins_and_is_live_again(
    reason: rtc.DisconnectReason.ValueType,
) -> None:
    call = await Call().live()
    call.lifecycle.room_lost(reason)
    await call.lifecycle.settled()
    assert call.history == [CONNECTING, LIVE, RECONNECTING, LIVE]
    assert call.lifecycle.rejoins == 1 and call.lifecycle.rejoin_attempts == 1
    assert call.room.joined == ["first-token", "first-token"]
    assert call.room.tracks_forgotten == 1, "the lost room's tracks are dropped"


async def test_a_rejoin_keeps_trying_until_a_join_works() -> None:
    call = await Call().live()
    call.room.failures = 2
    call.lifecycle.room_lost(rtc.DisconnectReason.SIGNAL_CLOSE)
    await call.lifecycle.settled()
    assert call.history == [CONNECTING, LIVE, RECONNECTING, LIVE]
    assert call.lifecycle.rejoin_attempts == 3 and call.lifecycle.rejoins == 1


async def test_a_rejoin_that_never_works_ends_the_call_at_the_deadline() -> None:
    call = await Call().live()
    call.room.failures = 10_000
    loop = asyncio.get_running_loop()
    lost_at = loop.time()
    call.lifecycle.room_lost(rtc.DisconnectReason.SIGNAL_CLOSE)
    await call.lifecycle.settled()
    assert call.history == [CONNECTING, LIVE, RECONNECTING, ENDED]
    assert call.reason == CONNECTION_LOST
    assert CONNECTION_LOST == "Lost the connection to the call and could not rejoin it."
    assert loop.time() - lost_at >= FAST.rejoin_deadline
    assert call.lifecycle.rejoin_attempts >= 2 and call.lifecycle.rejoins == 0


async def test_a_second_loss_while_rejoining_does_not_start_a_second_rejoin() -> None:
    call = await Call().live()
    await rejoin_waiting_on_the_server(call)
    call.lifecycle.room_lost(rtc.DisconnectReason.SIGNAL_CLOSE)
    assert call.room.hold is not None
    call.room.hold.set()
    await call.lifecycle.settled()
    assert call.room.joined == ["first-token", "first-token"]
    assert call.history == [CONNECTING, LIVE, RECONNECTING, LIVE]


# the token on rejoin -----------------------------------------------------------


@pytest.mark.parametrize(
    ("before_expiry", "renewed"),
    [
        (timedelta(hours=1), False),
        (TOKEN_MARGIN + timedelta(seconds=1), False),
        (TOKEN_MARGIN - timedelta(seconds=1), True),
        (-timedelta(minutes=5), True),
    ],
    ids=["valid", "just-outside-the-margin", "within-the-margin", "expired"],
)
async def test_a_rejoin_asks_for_a_fresh_token_only_when_the_old_one_expired(
    before_expiry: timedelta, renewed: bool
) -> None:
    call = await Call(now=EXPIRES_AT - before_expiry, fresh_token="fresh-token").live()
    call.lifecycle.room_lost(rtc.DisconnectReason.SIGNAL_CLOSE)
    await call.lifecycle.settled()
    assert call.history == [CONNECTING, LIVE, RECONNECTING, LIVE]
    assert call.refreshes == (1 if renewed else 0)
    expected = "fresh-token" if renewed else "first-token"
    assert call.room.joined == ["first-token", expected]
    assert call.lifecycle.grant.token.reveal() == expected


async def test_without_a_refresh_source_the_old_token_is_tried() -> None:
    call = await Call(now=EXPIRES_AT + timedelta(hours=1)).live()
    call.lifecycle.room_lost(rtc.DisconnectReason.SIGNAL_CLOSE)
    await call.lifecycle.settled()
    assert call.room.joined == ["first-token", "first-token"]


# the agent -----------------------------------------------------------------------


async def test_an_agent_hanging_up_ends_the_call_at_once() -> None:
    call = await Call(replace(FAST, agent_return=60.0)).live()  # "at once": no waiting
    call.room.agent = False
    call.lifecycle.agent_left(hung_up=True)
    await call.lifecycle.settled()
    assert call.history == [CONNECTING, LIVE, ENDED]
    assert call.reason == AGENT_LEFT == "The agent left the call."


async def test_an_agent_leaving_while_another_agent_stays_keeps_the_call_live() -> None:
    call = await Call().live()
    call.room.agent = True  # an avatar or a hand-off partner is still there
    call.lifecycle.agent_left(hung_up=True)
    call.lifecycle.agent_left(hung_up=False)
    await call.lifecycle.settled()
    assert call.history == [CONNECTING, LIVE]


async def test_an_agent_that_drops_out_and_returns_keeps_the_call_live() -> None:
    call = await Call().live()
    call.room.agent_absent_polls = 3  # gone at the disconnect and for two more looks
    call.lifecycle.agent_left(hung_up=False)
    await call.lifecycle.settled()
    assert call.room.agent_absent_polls == 0, "the lifecycle kept looking until it was back"
    assert call.history == [CONNECTING, LIVE]


async def test_an_agent_that_drops_out_for_good_ends_the_call_after_the_grace() -> None:
    call = await Call().live()
    call.room.agent = False
    loop = asyncio.get_running_loop()
    dropped_at = loop.time()
    call.lifecycle.agent_left(hung_up=False)
    await call.lifecycle.settled()
    assert call.history == [CONNECTING, LIVE, ENDED]
    assert call.reason == AGENT_DROPPED == "The agent dropped out of the call."
    assert loop.time() - dropped_at >= FAST.agent_return


async def test_an_agent_missing_while_we_reconnect_is_left_to_the_rejoin() -> None:
    call = await Call().live()
    call.lifecycle.reconnecting()
    call.room.agent = False
    call.lifecycle.agent_left(hung_up=False)
    await call.lifecycle.settled()
    assert call.history == [CONNECTING, LIVE, RECONNECTING]


# the SDK's own reconnects and stalls ------------------------------------------


async def test_the_sdk_resuming_the_connection_shows_reconnecting_then_live() -> None:
    call = await Call().live()
    call.lifecycle.reconnecting()
    call.lifecycle.reconnected()
    assert call.history == [CONNECTING, LIVE, RECONNECTING, LIVE]
    assert call.room.joined == ["first-token"], "the SDK resumed; no rejoin"


async def test_a_stall_shows_reconnecting_once_and_its_end_live() -> None:
    call = await Call().live()
    assert call.lifecycle.stalled() is True
    assert call.lifecycle.stalled() is False, "a stall is reported once"
    call.lifecycle.resumed()
    call.lifecycle.resumed()
    assert call.history == [CONNECTING, LIVE, RECONNECTING, LIVE]


async def test_a_stall_while_already_reconnecting_changes_nothing() -> None:
    call = await Call().live()
    call.lifecycle.reconnecting()
    assert call.lifecycle.stalled() is False
    assert call.history == [CONNECTING, LIVE, RECONNECTING]


# after the end ---------------------------------------------------------------------


async def test_an_ended_call_only_changes_by_being_left() -> None:
    call = await Call().live()
    call.lifecycle.room_lost(rtc.DisconnectReason.ROOM_CLOSED)
    await call.lifecycle.settled()
    for signal in every_signal(call):
        signal()
        await call.lifecycle.settled()
    await call.lifecycle.end("Some later reason.")
    assert call.history == [CONNECTING, LIVE, ENDED]
    assert call.reason == "The call's room was closed."
    assert call.room.joined == ["first-token"]
    await call.lifecycle.stop()
    assert call.history == [CONNECTING, LIVE, ENDED, LEFT]
    assert call.shown[-1] == (LEFT, None)


async def test_a_left_call_never_changes_again() -> None:
    call = await Call().live()
    await call.lifecycle.stop()
    for signal in every_signal(call):
        signal()
        await call.lifecycle.settled()
    await call.lifecycle.end("Some later reason.")
    await call.lifecycle.stop()
    assert call.history == [CONNECTING, LIVE, LEFT]
    assert call.room.joined == ["first-token"]


async def test_leaving_during_a_rejoin_stops_it() -> None:
    call = await Call().live()
    await rejoin_waiting_on_the_server(call)
    await call.lifecycle.stop()
    assert call.room.hold is not None
    call.room.hold.set()
    await call.lifecycle.settled()
    assert call.history == [CONNECTING, LIVE, RECONNECTING, LEFT]
    assert call.lifecycle.rejoins == 0 and call.room.left == 1

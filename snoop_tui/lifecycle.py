"""The call's lifecycle: whether it is live, rejoining, over, or left, and why.

    CONNECTING ──joined──▶ LIVE ──SDK reconnecting, stall, room lost──▶ RECONNECTING
                           LIVE ◀──reconnected, resumed, rejoined──── RECONNECTING
    LIVE or RECONNECTING ──final disconnect, agent hang-up,
                           agent away too long, rejoin deadline──▶ ENDED
    any state ──Stop──▶ LEFT            (ENDED and LEFT are final; ENDED can still be LEFT)

The decisions live here, away from LiveKit: which disconnects end a call and which
rejoin, how long an agent that dropped out may take to come back, when the token
must be renewed before a rejoin, how long to keep trying. The room side comes in as
a `CallRoom` (the session's LiveKit room, or a fake in tests), waits use the running
loop's clock with durations from `Timing`, and the token clock is injectable, so each
transition can be tested in milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from livekit import rtc

from snoop_tui.errors import SnoopError
from snoop_tui.events import CallState
from snoop_tui.platform import ListenerGrant

log = logging.getLogger(__name__)

END_GRACE_SECONDS = 1.5
"""After the call ends, wait this long for in-flight transcript streams before leaving."""
AGENT_RETURN_SECONDS = 10.0
"""An agent that drops out (rather than hanging up) gets this long to come back."""
TOKEN_MARGIN = timedelta(seconds=10)
"""A token this close to `expires_at` is treated as expired when rejoining."""

FINAL_DISCONNECTS = {
    rtc.DisconnectReason.ROOM_DELETED: "The call's room was closed.",
    rtc.DisconnectReason.ROOM_CLOSED: "The call's room was closed.",
    rtc.DisconnectReason.PARTICIPANT_REMOVED: "The platform removed this listener from the call.",
    rtc.DisconnectReason.DUPLICATE_IDENTITY: "Another listener joined with the same identity.",
}
"""Disconnects that say the call (or our place in it) is over; any other one rejoins."""
AGENT_LEFT = "The agent left the call."
AGENT_DROPPED = "The agent dropped out of the call."
CONNECTION_LOST = "Lost the connection to the call and could not rejoin it."

GrantSource = Callable[[], Awaitable[ListenerGrant]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CallRoom:
    """What the lifecycle asks of the room side (the session's LiveKit room; a fake in tests)."""

    join: Callable[[ListenerGrant], Awaitable[None]]
    """Join the call's room afresh with a grant; raise a `SnoopError` when that fails."""
    leave: Callable[[], Awaitable[None]]
    """Leave the room; never raises."""
    silence: Callable[[], Awaitable[None]]
    """Stop playback: the call is over for us."""
    forget_tracks: Callable[[], Awaitable[None]]
    """The room went away and a new one will follow: drop its tracks."""
    agent_present: Callable[[], bool]
    """Whether an agent is in the room now."""


@dataclass(frozen=True)
class Timing:
    """How long the lifecycle waits for things (seconds); tests shrink them to milliseconds."""

    rejoin_deadline: float = 60.0
    """Keep rejoining a lost room for this long before calling the connection lost."""
    first_retry: float = 0.5
    """Pause after the first failed rejoin; it doubles each time, up to `max_retry`."""
    max_retry: float = 5.0
    agent_return: float = AGENT_RETURN_SECONDS
    agent_poll: float = 0.25
    """How often to look for an agent that dropped out."""
    end_grace: float = END_GRACE_SECONDS


DEFAULT_TIMING = Timing()


class CallLifecycle:
    """The call's state machine; the session feeds it the room's signals."""

    def __init__(
        self,
        grant: ListenerGrant,
        room: CallRoom,
        *,
        on_change: Callable[[CallState, str | None], None],
        refresh_grant: GrantSource | None = None,
        timing: Timing = DEFAULT_TIMING,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.grant = grant
        """The grant of the room we are in (or last joined)."""
        self.state = CallState.CONNECTING
        self.history: list[CallState] = [CallState.CONNECTING]
        """Every state the call went through, in order (short: one entry per transition)."""
        self.rejoins = 0
        self.rejoin_attempts = 0
        self._room = room
        self._on_change = on_change
        self._refresh_grant = refresh_grant
        self._timing = timing
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._rejoining = False

    @property
    def in_call(self) -> bool:
        """Joined or rejoining: the states in which room signals mean something."""
        return self.state in (CallState.LIVE, CallState.RECONNECTING)

    @property
    def over(self) -> bool:
        return self.state in (CallState.ENDED, CallState.LEFT)

    async def start(self) -> None:
        """Join with the first grant; raise `UnsafeListenerToken` or `RoomConnectError`."""
        await self._room.join(self.grant)
        self._set_state(CallState.LIVE)

    async def stop(self) -> None:
        """The supervisor leaves: stop playback, drop pending work, leave. Idempotent."""
        if self.state is not CallState.LEFT:
            self._set_state(CallState.LEFT)
        await self._room.silence()
        current = asyncio.current_task()
        pending = [task for task in self._tasks if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self._room.leave()

    async def end(self, reason: str) -> None:
        """The call is over: say why, stop audio, leave after a grace; the transcript stays."""
        if self.over:
            return
        self._set_state(CallState.ENDED, reason)
        await self._room.silence()
        await asyncio.sleep(self._timing.end_grace)
        await self._room.leave()

    async def settled(self) -> None:
        """Wait until no transition is pending (an end's grace, a rejoin, an agent's return)."""
        while pending := [t for t in self._tasks if t is not asyncio.current_task()]:
            await asyncio.gather(*pending, return_exceptions=True)

    # signals from the room ----------------------------------------------------

    def reconnecting(self) -> None:
        """The SDK lost the connection and is resuming it by itself."""
        self._set_state(CallState.RECONNECTING)

    def reconnected(self) -> None:
        self._set_state(CallState.LIVE)

    def room_lost(self, reason: rtc.DisconnectReason.ValueType) -> None:
        """The SDK gave up on the room: end the call if the reason says so, else rejoin."""
        if not self.in_call:
            return
        final = FINAL_DISCONNECTS.get(reason)
        if final is not None:
            self._spawn(self.end(final))
        elif not self._rejoining:
            self._rejoining = True
            self._spawn(self._rejoin())

    def agent_left(self, *, hung_up: bool) -> None:
        """An agent left: a hang-up ends the call at once, a drop-out gets time to return.

        Another agent still in the room (an avatar, a hand-off) keeps the call going."""
        if not self.in_call or self._room.agent_present():
            return
        if hung_up:
            self._spawn(self.end(AGENT_LEFT))
        else:  # dropped, not hung up (a server restart, say): it may well come back
            self._spawn(self._await_agent_return())

    def stalled(self) -> bool:
        """The server went quiet while we look connected; True if that changed the state."""
        if self.state is not CallState.LIVE:
            return False
        self._set_state(CallState.RECONNECTING)
        return True

    def resumed(self) -> None:
        if self.state is CallState.RECONNECTING:
            self._set_state(CallState.LIVE)

    # transitions that take time -----------------------------------------------

    async def _rejoin(self) -> None:
        """Join a new room (fresh token if needed) until it works or the deadline passes."""
        try:
            self._set_state(CallState.RECONNECTING)
            await self._room.forget_tracks()
            if await self._rejoin_until_deadline():
                return
        finally:
            self._rejoining = False
        if self.state is CallState.RECONNECTING:
            await self.end(CONNECTION_LOST)

    async def _rejoin_until_deadline(self) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timing.rejoin_deadline
        delay = self._timing.first_retry
        while self.state is CallState.RECONNECTING and loop.time() < deadline:
            self.rejoin_attempts += 1
            try:
                grant = await self._fresh_grant()
                await self._room.join(grant)
            except SnoopError as error:
                log.info("rejoin failed: %s", error)
            else:
                self.grant = grant
                self.rejoins += 1
                self._set_state(CallState.LIVE)
                return True
            await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
            delay = min(delay * 2, self._timing.max_retry)
        return False

    async def _fresh_grant(self) -> ListenerGrant:
        """The current grant, or a new one from the platform when it is (nearly) expired."""
        if self._refresh_grant is None or self.grant.expires_at - TOKEN_MARGIN > self._clock():
            return self.grant
        log.info("listener token expired; asking the platform for a new one")
        return await self._refresh_grant()

    async def _await_agent_return(self) -> None:
        """End the call if the agent stays away while our own connection is fine.

        While we are reconnecting ourselves, the agent's absence says nothing: the
        rejoin decides (and names the real reason if it fails)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timing.agent_return
        while loop.time() < deadline:
            await asyncio.sleep(self._timing.agent_poll)
            if not self.in_call or self._room.agent_present():
                return
        if self.state is CallState.LIVE:
            await self.end(AGENT_DROPPED)

    # plumbing ------------------------------------------------------------------

    def _set_state(self, state: CallState, reason: str | None = None) -> None:
        if state == self.state and reason is None:
            return
        if self.over and state is not CallState.LEFT:
            return
        self.state = state
        self.history.append(state)
        log.info("call state: %s%s", state.value, f" ({reason})" if reason else "")
        self._on_change(state, reason)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call lifecycle task failed", exc_info=task.exception())

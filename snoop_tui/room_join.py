"""Joining a call's LiveKit room as the observer: the grant checked first, SDK errors converted.

Callers get `UnsafeListenerToken` (before any connection is attempted) or a
`RoomConnectError` whose message a supervisor can act on and never contains the
token; no SDK exception escapes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from livekit import rtc

from snoop_tui.errors import RoomConnectError
from snoop_tui.grants import check_listener_grant
from snoop_tui.platform import ListenerGrant


async def join_room(
    grant: ListenerGrant,
    *,
    connect_timeout: float,
    allow_insecure_ws: bool,
    prepare: Callable[[rtc.Room], None],
) -> rtc.Room:
    """A new room, connected with `grant`; `prepare` wires it before its first event."""
    check_listener_grant(grant, allow_insecure=allow_insecure_ws)
    room = rtc.Room()
    prepare(room)
    options = rtc.RoomOptions(auto_subscribe=True, connect_timeout=connect_timeout)
    # Never cancel a connect in flight: livekit 1.2's FFI then kills its own process
    # (SIGTERM, "timed out waiting for ReadyForRoomEventRequest", python-sdks #784/#813).
    # On our deadline the join is left to finish in the background, then disconnected.
    connecting = asyncio.ensure_future(room.connect(grant.url, grant.token.reveal(), options))
    try:
        await asyncio.wait_for(asyncio.shield(connecting), timeout=connect_timeout + 1)
    except (TimeoutError, rtc.ConnectError, OSError) as exc:
        _abandon(room, connecting)
        raise RoomConnectError(connect_failure(exc, grant, connect_timeout)) from None
    except asyncio.CancelledError:
        _abandon(room, connecting)
        raise
    return room


def _abandon(room: rtc.Room, connecting: asyncio.Future[None]) -> None:
    """Let a join we no longer want finish, then leave whatever it made."""

    def leave(done: asyncio.Future[None]) -> None:
        if not done.cancelled():
            done.exception()  # seen, so asyncio does not report it as never retrieved
            asyncio.ensure_future(_quietly(room.disconnect()))

    connecting.add_done_callback(leave)


async def _quietly(step: Coroutine[Any, Any, None]) -> None:
    with contextlib.suppress(Exception):
        await step


def connect_failure(exc: BaseException, grant: ListenerGrant, connect_timeout: float) -> str:
    """What went wrong, for a supervisor; the token is masked should the SDK echo it."""
    if isinstance(exc, TimeoutError):
        return f"Could not join the call within {connect_timeout:g} s."
    detail = str(exc).replace(grant.token.reveal(), "[token]")
    if "401" in detail or "unauthorized" in detail.lower():
        return "The call server refused the listener token (it may have expired)."
    return f"Could not join the call: {detail[:200]}"

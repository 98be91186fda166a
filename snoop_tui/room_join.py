"""Joining a call's LiveKit room as the observer: the grant checked first, SDK errors converted.

Callers get `UnsafeListenerToken` (before any connection is attempted) or a
`RoomConnectError` whose message a supervisor can act on and never contains the
token; no SDK exception escapes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

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
    try:
        await asyncio.wait_for(
            room.connect(grant.url, grant.token.reveal(), options), timeout=connect_timeout
        )
    except (TimeoutError, rtc.ConnectError, OSError) as exc:
        with contextlib.suppress(Exception):
            await room.disconnect()
        raise RoomConnectError(connect_failure(exc, grant, connect_timeout)) from None
    return room


def connect_failure(exc: BaseException, grant: ListenerGrant, connect_timeout: float) -> str:
    """What went wrong, for a supervisor; the token is masked should the SDK echo it."""
    if isinstance(exc, TimeoutError):
        return f"Could not join the call within {connect_timeout:g} s."
    detail = str(exc).replace(grant.token.reveal(), "[token]")
    if "401" in detail or "unauthorized" in detail.lower():
        return "The call server refused the listener token (it may have expired)."
    return f"Could not join the call: {detail[:200]}"

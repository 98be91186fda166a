"""Reads the listener JWT's claims and refuses any token that could publish or be seen.

The observer must be invisible and silent. The platform promises a token with
`canPublish: false`, `canPublishData: false` and `hidden: true`; we check that
promise ourselves before connecting anywhere. LiveKit treats a missing
`canPublish` or `canPublishData` as *true*, so only an explicit `false` passes.
The signature is not ours to verify (the secret is the platform's); the server
verifies it when we join.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from snoop_tui.errors import UnsafeListenerToken
from snoop_tui.platform import ListenerGrant


@dataclass(frozen=True)
class ListenerClaims:
    """The parts of the listener token that the panel shows or relies on."""

    identity: str
    room: str
    expires_at: datetime | None


def _decode_payload(token: str) -> Mapping[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise UnsafeListenerToken("The listener token is not a JWT; refusing to connect.")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        raise UnsafeListenerToken(
            "The listener token cannot be read; refusing to connect."
        ) from None
    if not isinstance(claims, dict):
        raise UnsafeListenerToken("The listener token cannot be read; refusing to connect.")
    return claims


def is_loopback_host(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_livekit_url(url: str, *, allow_insecure: bool = False) -> str:
    """Accept `wss://`, and `ws://` only on this machine or when explicitly allowed."""
    parts = urlsplit(url)
    if parts.scheme == "wss" and parts.hostname:
        return url
    if parts.scheme == "ws" and parts.hostname:
        if allow_insecure or is_loopback_host(parts.hostname):
            return url
        raise UnsafeListenerToken(
            "The platform gave an unencrypted (ws://) call server address; refusing to "
            "connect, as the call would cross the network in the clear."
        )
    raise UnsafeListenerToken(
        "The platform gave a call server address that is not wss://; refusing to connect."
    )


def check_listener_grant(
    grant: ListenerGrant, *, now: datetime | None = None, allow_insecure: bool = False
) -> ListenerClaims:
    """Return the token's claims, or raise `UnsafeListenerToken` naming what is wrong."""
    check_livekit_url(grant.url, allow_insecure=allow_insecure)
    claims = _decode_payload(grant.token.reveal())
    video = claims.get("video")
    if not isinstance(video, dict):
        raise UnsafeListenerToken("The listener token carries no room grant; refusing to connect.")
    problems = []
    if video.get("canPublish") is not False:
        problems.append("could publish audio")
    if video.get("canPublishData") is not False:
        problems.append("could send data")
    if video.get("canUpdateOwnMetadata") is True:
        problems.append("could change its own details")
    if video.get("hidden") is not True:
        problems.append("would be visible to the agent and caller")
    if video.get("roomJoin") is not True:
        problems.append("cannot join a room")
    if video.get("canSubscribe") is False:
        problems.append("cannot hear the call")
    if problems:
        raise UnsafeListenerToken(
            "The listener token " + ", ".join(problems) + "; refusing to connect. "
            "A listener must be hidden and subscribe-only."
        )
    room = video.get("room")
    if room != grant.room_name:
        raise UnsafeListenerToken(
            "The listener token is for a different room than the conversation's; "
            "refusing to connect."
        )
    now = now or datetime.now(UTC)
    expires_at = grant.expires_at
    exp = claims.get("exp")
    if isinstance(exp, int | float):
        expires_at = min(expires_at, datetime.fromtimestamp(exp, tz=UTC))
    if expires_at <= now:
        raise UnsafeListenerToken(
            "The listener token has already expired; refusing to connect. Try again; if it "
            "keeps happening, the platform's clock or this machine's is wrong."
        )
    identity = claims.get("sub")
    return ListenerClaims(
        identity=identity if isinstance(identity, str) else "",
        room=str(room),
        expires_at=expires_at,
    )

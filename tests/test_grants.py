"""The grant check refuses any listener token that could publish or be seen."""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from livekit import api

from snoop_tui.errors import UnsafeListenerToken
from snoop_tui.grants import check_listener_grant, check_livekit_url
from snoop_tui.platform import ListenerGrant
from snoop_tui.settings import Secret

KEY, SECRET = "devkey", "a-test-secret-that-is-long-enough-000"


def _grant(
    room: str = "call-1", url: str = "wss://lk.example.test", video: Mapping[str, bool] = {}
) -> ListenerGrant:
    """A real listener token for room call-1, with `video` grants changed, as `room` at `url`."""
    grants = api.VideoGrants(
        room_join=True,
        room="call-1",
        can_subscribe=True,
        can_publish=video.get("can_publish", False),
        can_publish_data=video.get("can_publish_data", False),
        hidden=video.get("hidden", True),
    )
    token = (
        api.AccessToken(KEY, SECRET)
        .with_identity("observer")
        .with_ttl(timedelta(minutes=10))
        .with_grants(grants)
        .to_jwt()
    )
    expires = datetime.now(UTC) + timedelta(minutes=10)
    return ListenerGrant(url=url, token=Secret(token), room_name=room, expires_at=expires)


def test_subscribe_only_hidden_token_is_accepted() -> None:
    claims = check_listener_grant(_grant())
    assert claims.identity == "observer" and claims.room == "call-1"


@pytest.mark.parametrize(
    ("video", "words"),
    [
        ({"can_publish": True}, "could publish audio"),
        ({"can_publish_data": True}, "could send data"),
        ({"hidden": False}, "would be visible"),
    ],
)
def test_unsafe_token_is_refused_with_the_reason(video: dict[str, bool], words: str) -> None:
    with pytest.raises(UnsafeListenerToken, match=words):
        check_listener_grant(_grant(video=video))


def test_token_for_another_room_is_refused() -> None:
    with pytest.raises(UnsafeListenerToken, match="different room"):
        check_listener_grant(_grant(room="call-2"))


def test_expired_token_is_refused() -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(UnsafeListenerToken, match="expired"):
        check_listener_grant(_grant(), now=later)


def test_token_past_the_platforms_expires_at_is_refused() -> None:
    grant = _grant()
    stale = ListenerGrant(grant.url, grant.token, grant.room_name, datetime.now(UTC))
    with pytest.raises(UnsafeListenerToken, match="expired"):
        check_listener_grant(stale)


def test_garbage_token_is_refused_without_echoing_it() -> None:
    grant = ListenerGrant("wss://x.test", Secret("not-a-jwt-secret"), "r", datetime.now(UTC))
    with pytest.raises(UnsafeListenerToken) as info:
        check_listener_grant(grant)
    assert "not-a-jwt-secret" not in str(info.value)


def test_plain_ws_is_only_allowed_on_this_machine() -> None:
    assert check_livekit_url("ws://127.0.0.1:7880")
    assert check_livekit_url("ws://localhost:7880")
    with pytest.raises(UnsafeListenerToken, match="unencrypted"):
        check_livekit_url("ws://calls.example.test")
    assert check_livekit_url("ws://calls.example.test", allow_insecure=True)
    with pytest.raises(UnsafeListenerToken):
        check_livekit_url("https://calls.example.test")

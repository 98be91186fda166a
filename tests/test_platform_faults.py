"""The platform failing, slow, rate limiting or lying: bounded retries, then a clear error.

Faults are served over real HTTP by the local platform API; the app tests run the
real app (Pilot) and check with the real livekit-server that nobody joined.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from snoop_tui.errors import (
    BadPlatformResponse,
    PlatformTimeout,
    PlatformUnavailable,
    RoomConnectError,
    UnsafeListenerToken,
)
from snoop_tui.platform import MAX_BODY_BYTES, PlatformClient
from snoop_tui.settings import Secret, Settings
from tests.faulty_platform_api import HUGE_BODY_BYTES, INSECURE_LIVEKIT_URL
from tests.live import SIZE, LiveCall, in_process_app, list_participants, wait_for

FAST_BACKOFF = 0.05
MOCKED = Settings(api_url="http://127.0.0.1:9", credential=Secret("ak_demo_sensitive"))
"""For answers from httpx's MockTransport: nothing is contacted."""


class CountingStream(httpx.AsyncByteStream):
    """Wraps a response body and counts the bytes the client actually pulled from it."""

    def __init__(self, inner: httpx.AsyncByteStream, counter: list[int]) -> None:
        self._inner = inner
        self._counter = counter

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._counter[0] += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class CountingTransport(httpx.AsyncHTTPTransport):
    """The real HTTP transport, counting the body bytes read from each response."""

    def __init__(self) -> None:
        super().__init__(trust_env=False)
        self.read = [0]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = CountingStream(response.stream, self.read)
        return response


def _statuses(records: list[dict[str, Any]]) -> list[int]:
    return [r["status"] for r in records]


async def test_rate_limited_once_waits_for_retry_after_then_succeeds(
    settings: Settings, platform_api: Any, new_conversation: tuple[str, str]
) -> None:
    conversation_id, room_name = new_conversation
    platform_api.patch_conversation(conversation_id, fault="rate_limited_once")
    async with PlatformClient(settings, backoff=FAST_BACKOFF) as client:
        grant = await client.listener_token(conversation_id)
    assert grant.room_name == room_name
    records = platform_api.token_requests(conversation_id)
    assert _statuses(records) == [429, 200]
    # Retry-After: 1 wins over the much shorter backoff (server clock, lower bound only).
    assert records[1]["at"] - records[0]["at"] >= 1.0


async def test_flaky_503_twice_is_retried_with_growing_backoff(
    settings: Settings, platform_api: Any, new_conversation: tuple[str, str]
) -> None:
    conversation_id, _ = new_conversation
    platform_api.patch_conversation(conversation_id, fault="flaky_503_twice")
    async with PlatformClient(settings, retries=2, backoff=0.2) as client:
        await client.listener_token(conversation_id)
    records = platform_api.token_requests(conversation_id)
    assert _statuses(records) == [503, 503, 200]
    assert records[1]["at"] - records[0]["at"] >= 0.2
    assert records[2]["at"] - records[1]["at"] >= 0.4


@pytest.mark.parametrize("retries", [0, 2])
async def test_always_503_gives_up_after_one_plus_retries_requests(
    settings: Settings, platform_api: Any, new_conversation: tuple[str, str], retries: int
) -> None:
    conversation_id, _ = new_conversation
    platform_api.patch_conversation(conversation_id, fault="always_503")
    async with PlatformClient(settings, retries=retries, backoff=FAST_BACKOFF) as client:
        with pytest.raises(PlatformUnavailable) as caught:
            await client.listener_token(conversation_id)
    assert "(503)" in caught.value.message
    assert _statuses(platform_api.token_requests(conversation_id)) == [503] * (1 + retries)


async def test_huge_body_is_refused_without_reading_it_all(
    settings: Settings, platform_api: Any, new_conversation: tuple[str, str]
) -> None:
    conversation_id, _ = new_conversation
    platform_api.patch_conversation(conversation_id, fault="huge_body")
    transport = CountingTransport()
    async with PlatformClient(settings, transport=transport) as client:
        with pytest.raises(BadPlatformResponse) as caught:
            await client.listener_token(conversation_id)
    assert "unexpectedly large" in caught.value.message
    assert MAX_BODY_BYTES < transport.read[0] < MAX_BODY_BYTES + 256 * 1024
    assert transport.read[0] < HUGE_BODY_BYTES // 10
    assert _statuses(platform_api.token_requests(conversation_id)) == [200]  # no retry


async def test_declared_huge_body_is_refused_before_reading_a_byte() -> None:
    read = [0]

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1000):
            read[0] += 65536
            yield b" " * 65536

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-length": str(1000 * 65536)}, content=endless())

    async with PlatformClient(MOCKED, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(BadPlatformResponse, match="unexpectedly large"):
            await client.listener_token("conv_1")
    assert read[0] == 0


async def test_trickling_body_ends_in_a_timeout_not_a_hang() -> None:
    """Each byte arrives within httpx's read timeout; only a deadline on the whole request
    stops it."""

    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(600):
            await asyncio.sleep(0.1)
            yield b" "

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=trickle())

    slow = Settings(api_url=MOCKED.api_url, credential=MOCKED.credential, request_timeout=0.5)
    async with PlatformClient(slow, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(PlatformTimeout, match="did not answer within 0.5 s"):
            await client.listener_token("conv_1")


@pytest.mark.parametrize(
    ("fault", "words"),
    [("html_200", "web page"), ("null_fields", "no valid `token`")],
    ids=["html page with 200", "null token"],
)
async def test_malformed_listener_token_answer_is_a_bad_response(
    settings: Settings,
    platform_api: Any,
    new_conversation: tuple[str, str],
    fault: str,
    words: str,
) -> None:
    conversation_id, _ = new_conversation
    platform_api.patch_conversation(conversation_id, fault=fault)
    async with PlatformClient(settings) as client:
        with pytest.raises(BadPlatformResponse, match=words):
            await client.listener_token(conversation_id)


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("expired_token", "already expired"),
        ("wrong_room_token", "different room"),
        ("insecure_url", "unencrypted (ws://)"),
        ("publish_data_token", "could send data"),
    ],
)
async def test_unsafe_grant_ends_the_app_before_joining(
    settings: Settings,
    platform_api: Any,
    livekit_server: Any,
    live_call: LiveCall,
    fault: str,
    words: str,
) -> None:
    platform_api.patch_conversation(live_call.conversation_id, fault=fault)
    app = in_process_app(settings, live_call.conversation_id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.failure is not None, what="the refusal")
    assert isinstance(app.failure, UnsafeListenerToken)
    assert words in app.failure.message and "refusing to connect" in app.failure.message
    assert app.return_code == UnsafeListenerToken.exit_code
    participants = await list_participants(livekit_server, live_call.room_name)
    assert not [p for p in participants if p.permission.hidden]
    assert {p.identity for p in participants} == {
        live_call.call.agent_identity,
        live_call.call.caller_identity,
    }


async def test_insecure_url_is_tried_only_with_the_explicit_flag(
    platform_api: Any, new_conversation: tuple[str, str]
) -> None:
    """With `allow_insecure_ws` the ws:// address passes the check and the app tries to join
    (the `.test` host cannot resolve, so that fails as a room error, not a token refusal)."""
    conversation_id, _ = new_conversation
    platform_api.patch_conversation(conversation_id, fault="insecure_url")
    settings = Settings(
        api_url=platform_api.base_url,
        credential=Secret("ak_demo_sensitive"),
        connect_timeout=3.0,
    )
    app = in_process_app(settings, conversation_id, allow_insecure_ws=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.failure is not None, timeout=30, what="the failure")
    assert isinstance(app.failure, RoomConnectError), app.failure
    assert app.return_code == RoomConnectError.exit_code
    assert INSECURE_LIVEKIT_URL.startswith("ws://")

"""The platform client keeps its connection between the call's status polls.

The status is asked for every 5 s; with httpx's default keep-alive (5 s) each poll
opened a new connection, and over HTTPS a new TLS handshake, for the whole call.
Served by the real local platform API over real HTTP.
"""

from __future__ import annotations

import asyncio
import ssl

from aiohttp import web

from snoop_tui.call_status import DEFAULT_INTERVAL
from snoop_tui.demo.platform_api import (
    Conversation,
    Handler,
    PlatformState,
    make_app,
    start_platform_api,
)
from snoop_tui.platform import PlatformClient, tls_for
from snoop_tui.settings import Secret, Settings


async def test_status_polls_a_poll_interval_apart_share_one_connection() -> None:
    peers: list[tuple[str, int]] = []

    @web.middleware
    async def note_peer(request: web.Request, handler: Handler) -> web.StreamResponse:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        return await handler(request)

    def app_factory(state: PlatformState) -> web.Application:
        app = make_app(state)
        app.middlewares.append(note_peer)
        return app

    state = PlatformState("ws://127.0.0.1:9", "key", "secret")
    state.conversations["conv_1"] = Conversation(id="conv_1", room_name="room-1")
    runner, url = await start_platform_api(state, app_factory=app_factory)
    try:
        settings = Settings(api_url=url, credential=Secret("ak_demo_sensitive"))
        async with PlatformClient(settings) as platform:
            for poll in range(3):
                if poll:
                    await asyncio.sleep(DEFAULT_INTERVAL + 0.5)
                conversation = await platform.conversation("conv_1")
                assert conversation.status == "in_progress"
    finally:
        await runner.cleanup()
    assert len(peers) == 3
    assert len(set(peers)) == 1, "each poll opened a connection of its own"


def test_a_plain_http_platform_loads_no_certificates_and_trusts_none() -> None:
    local = tls_for("http://127.0.0.1:8080")
    assert isinstance(local, ssl.SSLContext)
    assert local.verify_mode is ssl.CERT_REQUIRED and local.check_hostname
    assert local.cert_store_stats()["x509_ca"] == 0  # no certificate could pass
    assert tls_for("https://api.anyreach.example") is True  # httpx's own checks, CA bundle

"""Shared fixtures: the real local stack (livekit-server, platform API) and a real audio sink."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from snoop_tui.settings import Secret, Settings
from tests.live import LiveCall, running_call

pytest_plugins = ["tests.fixtures_stack", "tests.fixtures_audio"]


@pytest.fixture
def settings(platform_api: Any) -> Settings:
    return Settings(api_url=platform_api.base_url, credential=Secret("ak_demo_sensitive"))


@pytest.fixture
async def live_call(livekit_server: Any, new_conversation: Any) -> AsyncIterator[LiveCall]:
    async with running_call(livekit_server, new_conversation) as live:
        yield live

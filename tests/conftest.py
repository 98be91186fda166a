"""Shared fixtures: the real local stack (livekit-server, platform API) and a real audio sink.

Every test that uses the stack is marked `stack` here, from the fixtures it uses, so
`pytest -m "not stack"` runs only the pure tests (in seconds). A test that is not
marked and still tries to start livekit-server or a stack process fails and says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from snoop_tui.demo import livekit_server as livekit_module
from snoop_tui.demo import stack as stack_module
from snoop_tui.demo.livekit_server import LocalLiveKitServer
from snoop_tui.settings import Secret, Settings
from tests.live import LiveCall, running_call

if TYPE_CHECKING:  # imported for real by pytest_plugins, which rewrites its asserts
    from tests.fixtures_stack import PlatformApi

pytest_plugins = ["tests.fixtures_stack", "tests.fixtures_audio"]

STACK_FIXTURES = frozenset(
    {
        "livekit_server",  # the session's livekit-server
        "platform_api",  # the session's platform API subprocess (and the CLI against it)
        "null_sink",  # the session's PulseAudio null sink
        "own_livekit",  # tests/test_reconnect.py: a livekit-server of the test's own
    }
)
"""Fixtures that start part of the real stack; a test using any of them, directly or
through another fixture, is a `stack` test."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if STACK_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.stack)


@pytest.fixture(autouse=True)
def _stack_only_in_stack_tests(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside `stack` tests, starting livekit-server or a stack process is an error."""
    if request.node.get_closest_marker("stack") is not None:
        return
    find_binary = livekit_module.find_livekit_server

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        pytest.fail(
            f"{request.node.nodeid} starts the local stack but is not marked `stack`: "
            "add its fixture to STACK_FIXTURES in tests/conftest.py, or mark it "
            "@pytest.mark.stack.",
            pytrace=False,
        )

    def find_but_refuse() -> Path:
        find_binary()  # a missing binary still gets its own message
        refuse()

    monkeypatch.setattr(livekit_module, "find_livekit_server", find_but_refuse)
    monkeypatch.setattr(stack_module.ManagedProcess, "__init__", refuse)


@pytest.fixture
def settings(platform_api: PlatformApi) -> Settings:
    return Settings(api_url=platform_api.base_url, credential=Secret("ak_demo_sensitive"))


@pytest.fixture
async def live_call(
    livekit_server: LocalLiveKitServer, new_conversation: tuple[str, str]
) -> AsyncIterator[LiveCall]:
    async with running_call(livekit_server, new_conversation) as live:
        yield live

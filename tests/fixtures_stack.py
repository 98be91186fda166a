"""Fixtures for the real local stack: one livekit-server and one platform API per session.

Both are plain sync fixtures, so they do not depend on any event loop's scope. Tests
register their own conversations (and rooms) through the platform API's `/_local` admin.
The platform API is the demo's, extended with the tests' faults (`faulty_platform_api`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from snoop_tui.demo.livekit_server import LocalLiveKitServer
from snoop_tui.demo.stack import ManagedProcess, spawn_platform_api, wait_for_port_file

REPO_ROOT = Path(__file__).resolve().parent.parent
FAULTY_PLATFORM_API = "tests.faulty_platform_api"


@dataclass
class PlatformApi:
    """The platform API subprocess, with sync calls to its local admin surface."""

    base_url: str
    process: ManagedProcess
    livekit: LocalLiveKitServer

    @property
    def pid(self) -> int:
        return self.process.pid

    def _send(self, method: str, path: str, json: Any = None) -> Any:
        with httpx.Client(base_url=self.base_url, trust_env=False, timeout=5.0) as client:
            response = client.request(method, path, json=json)
            response.raise_for_status()
            return response.json()

    def put_conversation(
        self, conversation_id: str, *, fault: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Create or replace a conversation (status defaults to in_progress), maybe faulty."""
        result: dict[str, Any] = self._send(
            "PUT", f"/_local/conversations/{conversation_id}", fields
        )
        if fault is not None:
            self.set_fault(conversation_id, fault)
        return result

    def patch_conversation(self, conversation_id: str, **fields: Any) -> dict[str, Any]:
        """Change some fields of a conversation, e.g. status="completed" or fault="slow"."""
        if "fault" in fields:
            self.set_fault(conversation_id, fields.pop("fault"))
        result: dict[str, Any] = self._send(
            "PATCH", f"/_local/conversations/{conversation_id}", fields
        )
        return result

    def set_fault(self, conversation_id: str, fault: str | None) -> None:
        """Break the conversation's listener-token answers as `fault` names (None mends them).

        The names are `tests.faulty_platform_api.FAULTS`."""
        self._send("PUT", f"/_local/faults/{conversation_id}", {"fault": fault})

    def requests(self, *, timestamps: bool = False) -> list[dict[str, Any]]:
        """Method, path and status of every request answered so far.

        With `timestamps`, each also has `at`: the server's monotonic clock on arrival."""
        path = "/_local/requests" + ("?timestamps=1" if timestamps else "")
        result: list[dict[str, Any]] = self._send("GET", path)
        return result

    def token_requests(self, conversation_id: str) -> list[dict[str, Any]]:
        """The listener-token requests for one conversation, with arrival times."""
        path = f"/core/conversations/{conversation_id}/listener-token"
        return [r for r in self.requests(timestamps=True) if r["path"] == path]

    def stats(self) -> dict[str, Any]:
        """Local counters, e.g. how much of a `huge_body` answer was actually sent."""
        result: dict[str, Any] = self._send("GET", "/_local/faults/stats")
        return result

    def clear_requests(self) -> None:
        self._send("DELETE", "/_local/requests")

    def put_conversations(self, conversations: list[dict[str, Any]]) -> None:
        """Create many conversations at once, each a dict with its `id` and fields."""
        self._send("PUT", "/_local/conversations", conversations)

    def clear_conversations(self) -> None:
        self._send("DELETE", "/_local/conversations")


@pytest.fixture(scope="session")
def livekit_server() -> Iterator[LocalLiveKitServer]:
    """A real livekit-server on 127.0.0.1 for the whole session."""
    server = LocalLiveKitServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def platform_api(
    livekit_server: LocalLiveKitServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlatformApi]:
    """The local platform API (with the tests' faults) as a subprocess, minting tokens
    for `livekit_server`."""
    workdir = tmp_path_factory.mktemp("platform-api")
    process, port_file = spawn_platform_api(
        livekit_server, workdir, module=FAULTY_PLATFORM_API, cwd=REPO_ROOT
    )
    try:
        base_url = wait_for_port_file(process, port_file)
        yield PlatformApi(base_url=base_url, process=process, livekit=livekit_server)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def own_platform_api(
    livekit_server: LocalLiveKitServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlatformApi]:
    """A platform API of the module's own (the demo's, no faults): a test that lists
    conversations clears it first, and then knows every conversation in it."""
    workdir = tmp_path_factory.mktemp("own-platform-api")
    process, port_file = spawn_platform_api(livekit_server, workdir)
    try:
        base_url = wait_for_port_file(process, port_file)
        yield PlatformApi(base_url=base_url, process=process, livekit=livekit_server)
    finally:
        process.stop()


@pytest.fixture
def empty_platform_api(own_platform_api: PlatformApi) -> PlatformApi:
    """The module's own platform API, with no conversations at all."""
    own_platform_api.clear_conversations()
    return own_platform_api


@pytest.fixture
def new_conversation(platform_api: PlatformApi) -> tuple[str, str]:
    """A fresh in-progress conversation with its own room: (conversation_id, room_name)."""
    suffix = secrets.token_hex(4)
    conversation_id = f"conv_{suffix}"
    room_name = f"call-{suffix}"
    platform_api.put_conversation(conversation_id, status="in_progress", room_name=room_name)
    return conversation_id, room_name

"""Stand-ins for the LiveKit side of a listener session, for tests that need no server.

A fake room side for the lifecycle (joins that fail or stall on cue, an agent that
comes and goes), participants with a kind and attributes, and text streams that
deliver chunks and a trailer the way the SDK's `TextStreamReader` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from livekit import rtc

from snoop_tui.errors import RoomConnectError
from snoop_tui.lifecycle import CallRoom
from snoop_tui.platform import ListenerGrant
from snoop_tui.settings import Secret

EXPIRES_AT = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def grant(token: str = "first-token") -> ListenerGrant:
    return ListenerGrant(
        url="wss://call.example", token=Secret(token), room_name="call-1", expires_at=EXPIRES_AT
    )


class FakeRoom:
    """The room side: joins that succeed or fail as scripted, and an agent that comes and goes."""

    def __init__(self) -> None:
        self.failures = 0
        """How many of the next joins fail."""
        self.hold: asyncio.Event | None = None
        """When set, a join waits for it (a slow server)."""
        self.joined: list[str] = []
        """The token of every join attempt, in order."""
        self.left = 0
        self.silenced = 0
        self.tracks_forgotten = 0
        self.agent = True
        self.agent_absent_polls = 0
        """Look-ups for the agent that still find it gone, before it is back."""

    async def join(self, grant: ListenerGrant) -> None:
        self.joined.append(grant.token.reveal())
        if self.hold is not None:
            await self.hold.wait()
        if self.failures:
            self.failures -= 1
            raise RoomConnectError("Could not join the call: refused")

    async def leave(self) -> None:
        self.left += 1

    async def silence(self) -> None:
        self.silenced += 1

    async def forget_tracks(self) -> None:
        self.tracks_forgotten += 1

    def agent_present(self) -> bool:
        if self.agent_absent_polls:
            self.agent_absent_polls -= 1
            return False
        return self.agent

    def side(self) -> CallRoom:
        return CallRoom(
            join=self.join,
            leave=self.leave,
            silence=self.silence,
            forget_tracks=self.forget_tracks,
            agent_present=self.agent_present,
        )


@dataclass
class FakeParticipant:
    """What the session reads of a participant."""

    identity: str
    kind: rtc.ParticipantKind.ValueType = rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD
    attributes: dict[str, str] = field(default_factory=dict)
    disconnect_reason: rtc.DisconnectReason.ValueType = rtc.DisconnectReason.UNKNOWN_REASON
    track_publications: dict[str, Any] = field(default_factory=dict)

    def remote(self) -> rtc.RemoteParticipant:
        return cast(rtc.RemoteParticipant, self)


def agent(identity: str = "agent-1", **details: Any) -> rtc.RemoteParticipant:
    """An agent as LiveKit Agents usually joins: participant kind AGENT."""
    kind = rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
    return FakeParticipant(identity, kind, **details).remote()


def agent_by_attribute(identity: str = "agent-2", **details: Any) -> rtc.RemoteParticipant:
    """An agent that joined as an ordinary participant; only `lk.agent.state` tells."""
    attributes = {"lk.agent.state": "listening"}
    return FakeParticipant(identity, attributes=attributes, **details).remote()


def caller(identity: str = "caller-1", **details: Any) -> rtc.RemoteParticipant:
    kind = rtc.ParticipantKind.PARTICIPANT_KIND_SIP
    return FakeParticipant(identity, kind, **details).remote()


def standard(identity: str, **details: Any) -> rtc.RemoteParticipant:
    return FakeParticipant(identity, **details).remote()


@dataclass
class FakeStreamInfo:
    stream_id: str
    attributes: dict[str, str]
    timestamp: int = 1_700_000_000_000


class FakeTextStream:
    """A text stream: its chunks, then a trailer (which may add attributes) or an abort."""

    def __init__(
        self,
        chunks: list[str],
        *,
        attributes: dict[str, str] | None = None,
        trailer: dict[str, str] | None = None,
        aborted: bool = False,
    ) -> None:
        self.info = FakeStreamInfo("stream-1", dict(attributes or {}))
        self.closed = False
        self._chunks = chunks
        self._trailer = trailer or {}
        self._aborted = aborted

    def reader(self) -> rtc.TextStreamReader:
        return cast(rtc.TextStreamReader, self)

    def __aiter__(self) -> AsyncIterator[str]:
        return self._read()

    async def _read(self) -> AsyncIterator[str]:
        for chunk in self._chunks:
            await asyncio.sleep(0)
            yield chunk
        if self._aborted:
            raise rtc.StreamError("aborted by sender")
        self.info.attributes.update(self._trailer)

    def close(self) -> None:
        self.closed = True

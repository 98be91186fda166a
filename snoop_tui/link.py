"""The line between the panel and a call: commands go down, events come up.

The UI drives a call only through a `CallLink` and learns what happens only from
the `CallEvent`s it is handed, so it never touches the SDK, the audio device or
the network. Commands never raise: what they lead to (audio playing, a device
that is missing) comes back as events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from snoop_tui.events import CallEvent
from snoop_tui.transcript import Role

EventSink = Callable[[CallEvent], None]

FOCUS_ORDER: tuple[Role | None, ...] = (None, Role.AGENT, Role.CALLER)
"""What `f` cycles through: both sides, the agent only, the caller only."""


def next_focus(current: Role | None) -> Role | None:
    return FOCUS_ORDER[(FOCUS_ORDER.index(current) + 1) % len(FOCUS_ORDER)]


class CallLink(Protocol):
    """One watched call, as the panel sees it."""

    async def start(self, on_event: EventSink) -> None:
        """Get a listener token and join; report everything through `on_event`.

        A failure to start arrives as a `CallFailed` event, not an exception."""

    async def listen(self) -> None:
        """Play the call's audio (while joined or rejoining)."""

    async def mute(self) -> None:
        """Stop playing the audio; the transcript keeps streaming."""

    async def cycle_focus(self) -> None:
        """Hear both sides, then the agent only, then the caller only."""

    async def change_volume(self, steps: int) -> None:
        """Louder (positive) or softer (negative), in 10% steps."""

    async def watch_health(self, on: bool) -> None:
        """Report `Health` once a second while `on` (the readout is on screen)."""

    async def stop(self) -> None:
        """Leave the room; no event is delivered after this returns. Idempotent."""

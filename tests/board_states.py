"""The board's looks and behaviour without a server: a scripted listing and scripted calls.

`ScriptedListing` stands in for the platform's listing (each refresh takes the next
answer: a list of calls, or an error to raise); `board_app` builds the real app in
board mode on it, with `ScriptedCall`s behind every call it opens. The board's clocks
are fixed, so its snapshots are stable.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from textual._doc import take_svg_screenshot

from snoop_tui.app import SnoopApp
from snoop_tui.board_model import Board, ConversationSummary
from snoop_tui.errors import PlatformUnavailable, SnoopError
from snoop_tui.events import CallEvent, CallFailed
from snoop_tui.screens.board import BoardScreen
from tests.panel_states import ScriptedCall, live, settle

NOW = datetime(2026, 11, 26, 14, 5, 0, tzinfo=UTC)


def call(
    conversation_id: str,
    agent: str,
    caller: str,
    minutes_ago: float,
    *,
    status: str = "in_progress",
    channel: str = "telephone",
    number: str = "+1 555 0199",
    direction: str = "inbound",
) -> ConversationSummary:
    return ConversationSummary(
        id=conversation_id,
        status=status,
        agent_name=agent,
        caller=caller,
        agent_number=number,
        channel=channel,
        direction=direction,
        created_at=NOW - timedelta(minutes=minutes_ago),
    )


CALLS = (
    call("conv_ringing", "Retention Desk", "+1 415 555 0142", 0.2, status="ringing"),
    call("conv_billing", "Billing Assistant", "+1 212 555 0107", 3.2),
    call("conv_support", "Tech Support", "+44 20 7946 0958", 12.5, direction="outbound"),
    call("conv_email", "Inbox Agent", "dana@example.test", 40, channel="email"),
    call("conv_long", "Billing Assistant", "+1 646 555 0186", 75),
)


@dataclass
class ScriptedListing:
    """The listing, refresh by refresh: each call takes the next answer; the last repeats."""

    answers: list[Sequence[ConversationSummary] | SnoopError]
    calls: int = 0

    async def __call__(self) -> list[ConversationSummary]:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        if isinstance(answer, SnoopError):
            raise answer
        return list(answer)


@dataclass
class FakeClock:
    """Monotonic seconds for the board model, moved by hand."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class BoardSetup:
    listing: ScriptedListing
    opened: dict[str, ScriptedCall] = field(default_factory=dict)
    failures: dict[str, SnoopError] = field(default_factory=dict)
    """Calls whose opening fails with this error (404/409: ended a second ago)."""
    clock: FakeClock = field(default_factory=FakeClock)

    def open_call(self, conversation_id: str) -> ScriptedCall:
        failure = self.failures.get(conversation_id)
        events: tuple[CallEvent, ...] = (CallFailed(failure),) if failure else live()
        self.opened[conversation_id] = ScriptedCall(events)
        return self.opened[conversation_id]


def board_app(setup: BoardSetup, *, refresh_seconds: float = 3600.0) -> SnoopApp[ScriptedCall]:
    """The app in board mode; refreshes only when asked (`r`) unless told otherwise."""
    app: SnoopApp[ScriptedCall] = SnoopApp(
        board=BoardScreen(
            setup.listing,
            refresh_seconds=refresh_seconds,
            board=Board(clock=setup.clock),
            clock=lambda: NOW,
        ),
        open_call=setup.open_call,
    )
    return app


@contextmanager
def utc() -> Iterator[None]:
    """Local times on the board in UTC, whatever the machine's zone."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


@dataclass(frozen=True)
class BoardState:
    """One look of the board: its listing answers, keys pressed, the terminal size."""

    answers: tuple[Sequence[ConversationSummary] | SnoopError, ...]
    press: tuple[str, ...] = ()
    size: tuple[int, int] = (110, 24)
    screenshot: str | None = None

    def build(self) -> SnoopApp[ScriptedCall]:
        return board_app(BoardSetup(ScriptedListing(list(self.answers))))

    def svg(self) -> str:
        with utc():
            return take_svg_screenshot(
                self.build(), terminal_size=self.size, press=self.press, run_before=settle
            )


_TROUBLE = PlatformUnavailable("The platform failed (503). Try again in a minute.")

BOARD_STATES: dict[str, BoardState] = {
    "board": BoardState((CALLS,), press=("down",), screenshot="board"),
    "board-empty": BoardState(((),), screenshot="board-empty"),
    "board-stale": BoardState((CALLS, _TROUBLE), press=("r",), screenshot="board-stale"),
    "board-filter": BoardState((CALLS,), press=("slash", *"billing")),
    "board-narrow": BoardState((CALLS,), size=(80, 24)),
}

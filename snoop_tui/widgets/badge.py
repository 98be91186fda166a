"""The call badge: Connecting…, LIVE, Reconnecting…, Ended."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

from snoop_tui.session import CallState

_LABELS = {
    CallState.CONNECTING: "Connecting…",
    CallState.LIVE: "● LIVE",
    CallState.RECONNECTING: "Reconnecting…",
    CallState.ENDED: "Ended",
    CallState.LEFT: "Left",
}
# The badge pads its own text: with `reverse` (the NO_COLOR fallback) a CSS padding
# cell would not be reversed and the badge would look cut out of a white box.
_PAD = " "


class CallBadge(Static):
    """Shows the call state; its colour comes from the stylesheet, one class per state."""

    state: reactive[CallState] = reactive(CallState.CONNECTING)

    def on_mount(self) -> None:
        self.watch_state(self.state)

    def watch_state(self, state: CallState) -> None:
        for other in CallState:
            self.set_class(other is state, f"-{other.value}")
        self.update(f"{_PAD}{_LABELS[state]}{_PAD}")

    @property
    def label(self) -> str:
        return _LABELS[self.state]

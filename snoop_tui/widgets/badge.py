"""The call badge: Connecting…, LIVE, Reconnecting…, Ended."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from snoop_tui.events import CallState

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


class CallBadge(Widget):
    """Shows the call state; its colour comes from the stylesheet, one class per state."""

    state: reactive[CallState] = reactive(CallState.CONNECTING, init=True)

    def watch_state(self, state: CallState) -> None:
        for other in CallState:
            self.set_class(other is state, f"-{other.value}")

    def render(self) -> Text:
        return Text(f"{_PAD}{self.label}{_PAD}")

    @property
    def label(self) -> str:
        return _LABELS[self.state]

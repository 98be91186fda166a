"""The call badge: Connecting…, LIVE, Reconnecting…, Ended."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from snoop_tui.events import CallState
from snoop_tui.first_frame import connecting_label
from snoop_tui.terminal_caps import Glyphs, glyphs


def badge_label(state: CallState, shapes: Glyphs) -> str:
    """Each state has its own glyph and word, so it reads right without colour."""
    return {
        CallState.CONNECTING: connecting_label(shapes),
        CallState.LIVE: f"{shapes.live} LIVE",
        CallState.RECONNECTING: f"{shapes.reconnecting} Reconnecting{shapes.ellipsis}",
        CallState.ENDED: f"{shapes.ended} Ended",
        CallState.LEFT: f"{shapes.ended} Left",
    }[state]


# The badge pads its own text: with `reverse` (the NO_COLOR fallback) a CSS padding
# cell would not be reversed and the badge would look cut out of a white box.
_PAD = " "


class CallBadge(Widget):
    """Shows the call state; its colour comes from the stylesheet, one class per state,
    and each state also differs in glyph and attribute (LIVE is bold reverse)."""

    state: reactive[CallState] = reactive(CallState.CONNECTING, init=True)

    def __init__(self, shapes: Glyphs | None = None, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.shapes = shapes or glyphs()

    def watch_state(self, state: CallState) -> None:
        for other in CallState:
            self.set_class(other is state, f"-{other.value}")

    def render(self) -> Text:
        return Text(f"{_PAD}{self.label}{_PAD}")

    @property
    def label(self) -> str:
        return badge_label(self.state, self.shapes)

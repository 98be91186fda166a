"""The key hints along the bottom of a screen: one line, drawn in one go.

Textual's `Footer` builds a widget per key and builds them all again whenever the
bindings change, which they do on every change of focus; on the panel that was a
third of the time from start to the first frame (about 60 of 180 ms). This draws the
same hints, in the theme's footer colours, as one line of text. A click on a hint
presses its key, and hovering one shows what it does.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

_DIM = Style(dim=True)


@dataclass(frozen=True)
class _Hint:
    start: int
    end: int
    key: str
    enabled: bool
    tooltip: str


class KeyHints(Widget):
    """The active bindings that ask to be shown, each once, with the command palette's
    key on the right."""

    COMPONENT_CLASSES = {"key-hints--key", "key-hints--description"}

    DEFAULT_CSS = """
    KeyHints {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-hints--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-hints--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._hints: list[_Hint] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is self.screen:
            self.refresh()

    def _shown(self) -> tuple[list[tuple[Binding, bool, str]], tuple[Binding, bool] | None]:
        """The hints in order, each action once, and the command palette's apart."""
        app = self.app
        palette_key = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
        hints: list[tuple[Binding, bool, str]] = []
        actions: set[str] = set()
        palette: tuple[Binding, bool] | None = None
        for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items():
            if key == palette_key:
                palette = (binding, enabled)
            elif binding.show and binding.action not in actions:
                actions.add(binding.action)
                hints.append((binding, enabled, tooltip or binding.tooltip or binding.description))
        return hints, palette

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-hints--key")
        description_style = self.get_component_rich_style("key-hints--description")
        line = Text(no_wrap=True, overflow="crop", end="")
        self._hints = []
        shown, palette = self._shown()
        for binding, enabled, tooltip in shown:
            start = len(line)
            dim = _DIM if not enabled else Style()
            line.append(f" {self.app.get_key_display(binding)} ", key_style + dim)
            line.append(f"{binding.description} ", description_style + dim)
            self._hints.append(_Hint(start, len(line), binding.key, enabled, tooltip))
        if palette is not None:
            binding, enabled = palette
            tail = Text.assemble(
                ("│", Style(dim=True)),
                (f" {self.app.get_key_display(binding)} ", key_style),
                (f"{binding.description} ", description_style),
            )
            start = max(0, self.size.width - len(tail))  # on the right, always in sight
            if len(line) > start:  # the hints that fit whole, then the palette's
                self._hints = [hint for hint in self._hints if hint.end <= start]
                line.truncate(self._hints[-1].end if self._hints else 0)
            line.append(" " * (start - len(line)))
            line.append_text(tail)
            self._hints.append(_Hint(start, len(line), binding.key, enabled, binding.description))
        return line

    def _hint_at(self, x: int) -> _Hint | None:
        return next((hint for hint in self._hints if hint.start <= x < hint.end), None)

    def on_click(self, event: events.Click) -> None:
        hint = self._hint_at(event.x)
        if hint is None:
            return
        if hint.enabled:
            self.app.simulate_key(hint.key)
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        hint = self._hint_at(event.x)
        self.tooltip = hint.tooltip if hint is not None else None

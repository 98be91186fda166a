"""The help screen (`?`, `h`, F1): the keys of the screen it was opened from, and notes.

The keys come from that screen's own bindings, so the help can never disagree
with what the keys do; the notes are the same texts as `snoop-tui help TOPIC`.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def key_table(bindings: Iterable[BindingType]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    seen: set[str] = set()
    for binding in bindings:
        if not isinstance(binding, Binding) or not binding.description:
            continue
        keys = binding.key_display or " / ".join(
            k.replace("_", " ") for k in binding.key.split(",")
        )
        if binding.description in seen and not binding.show:
            continue
        seen.add(binding.description)
        help_text = binding.tooltip or binding.description
        table.add_row(keys, help_text)
    return table


PANEL_NOTES = """\
You are a hidden observer: the agent and caller can't see you or hear you, and
snoop-tui can never speak or publish into the call.

Listen needs an audio output. On a jump box without a sound card, forward your own
machine's sound server over SSH: run `snoop-tui help audio` for the recipe.

The credential comes from ANYREACH_TOKEN, ANYREACH_TOKEN_FILE or the config file,
never from the command line: `snoop-tui help credential`."""

BOARD_NOTES = """\
The list refreshes by itself; a call that ends stays a few seconds, marked ended,
and new calls are marked new. Email and text conversations have no audio and
cannot be opened. Stop (x) in a call brings you back here.

Where conversation ids come from, and the scopes a credential needs:
`snoop-tui help ids`, `snoop-tui help credential`."""


class HelpScreen(ModalScreen[None]):
    """Keys and notes; Esc, q or ? closes it."""

    BINDINGS = [
        Binding("escape,q,question_mark,h,f1", "dismiss", "Close help", show=False),
    ]

    def __init__(self, title: str, bindings: Iterable[BindingType], notes: str) -> None:
        super().__init__()
        self._title = title
        self._keys = list(bindings)
        self._notes = notes

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(Text(self._title, style="bold"), id="help-title")
            yield Static(key_table(self._keys), id="help-keys")
            yield Static(Text(self._notes), id="help-notes")
            yield Static(Text("Esc closes this help.", style="dim"))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)

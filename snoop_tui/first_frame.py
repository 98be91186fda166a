"""The panel's first frame, drawn before Textual has loaded.

Importing Textual and the app takes most of a start, and a supervisor should not
look at a blank terminal meanwhile. Right after the panel's process starts, this
draws with plain escape sequences what the panel's first frame shows (the
Connecting… badge, the notice, the conversation) where the panel draws them, on the
alternate screen; Textual then takes that same screen and paints over it. No Textual,
no Rich: it must cost a millisecond, not the import it is there to hide.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

from snoop_tui.terminal_caps import Glyphs, glyphs

NOTICE = "Listening in. The agent and caller can't see you or hear you."
"""The product's promise, shown while we are (or are about to be) in the room."""

SHORT_ROWS = 30
"""Below this many rows the panel is laid out short (its first lines move up a row)."""

_ENTER = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J"  # alternate screen, cursor hidden, cleared
_LEAVE = "\x1b[2J\x1b[?1049l\x1b[?25h"
_DIM, _ITALIC, _RESET = "\x1b[2m", "\x1b[3m", "\x1b[0m"


def connecting_label(shapes: Glyphs) -> str:
    """The badge's word while joining (the badge's other states come later)."""
    return f"{shapes.connecting} Connecting{shapes.ellipsis}"


def first_frame(conversation_id: str, size: tuple[int, int], shapes: Glyphs) -> str:
    """The escape sequences and text of the frame, for a terminal of `size` (cols, rows)."""
    cols, rows = size
    top = 1 if rows < SHORT_ROWS else 2  # the status row's top margin goes when short
    width = max(0, cols - 2)  # one column of margin each side
    badge = f" {connecting_label(shapes)} "
    notice = NOTICE[: max(0, width - len(badge) - 2)]
    details = f"Conversation {conversation_id}"[:width]
    label, name = details[:13], details[13:]
    return (
        f"{_ENTER}\x1b[{top};2H{badge[:width]}"
        + (f" {_ITALIC}{notice}{_RESET}" if notice else "")
        + f"\x1b[{top + 1};2H{_DIM}{label}{_RESET}{name}"
    )


def draw_first_frame(
    conversation_id: str, fd: int = 2, env: Mapping[str, str] | None = None
) -> bool:
    """Draw the first frame on `fd` if it is a terminal; True if it was drawn, and the
    alternate screen is then ours to leave (`undraw`) if Textual never takes it."""
    env = os.environ if env is None else env
    if env.get("TERM", "") in ("", "dumb"):
        return False
    try:
        if not os.isatty(fd):
            return False
        size = os.get_terminal_size(fd)
        os.write(fd, first_frame(conversation_id, (size.columns, size.lines), glyphs(env)).encode())
    except OSError:
        return False
    return True


def undraw(fd: int = 2) -> None:
    """Leave the alternate screen the first frame took (Textual never started)."""
    with contextlib.suppress(OSError):
        os.write(fd, _LEAVE.encode())

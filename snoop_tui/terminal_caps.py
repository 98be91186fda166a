"""What the terminal can show: Unicode or only ASCII, full colour or 16 colours.

A Linux console, a vt100, or a locale that is not UTF-8 shows box and block
characters as garbage; there, every glyph snoop-tui draws has an ASCII twin. A
terminal with 16 colours gets the ANSI theme, whose colours it really has (and
every state also differs by glyph and attribute, for NO_COLOR).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

ASCII_TERMS = ("linux", "vt100", "vt102", "vt220", "ansi", "dumb")


def unicode_ok(env: Mapping[str, str] | None = None) -> bool:
    """Whether box and block characters will show: a UTF-8 locale and a capable terminal."""
    env = os.environ if env is None else env
    term = env.get("TERM", "")
    if term.split("-")[0] in ASCII_TERMS:
        return False
    locale = env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or ""
    if not locale:  # no locale set: Python and Textual write UTF-8 anyway
        return True
    return "utf-8" in locale.lower() or "utf8" in locale.lower()


@dataclass(frozen=True)
class Glyphs:
    live: str
    connecting: str
    reconnecting: str
    ended: str
    ellipsis: str
    speaking: str
    silent: str
    ended_row: str
    unicode: bool


UNICODE = Glyphs("●", "◌", "↻", "■", "…", "●", "○", "✕", True)
ASCII = Glyphs("*", "o", "~", "x", "...", "*", ".", "x", False)


def glyphs(env: Mapping[str, str] | None = None) -> Glyphs:
    return UNICODE if unicode_ok(env) else ASCII


def sixteen_colours(env: Mapping[str, str] | None = None) -> bool:
    """A terminal that announces neither 256 colours nor true colour (TERM=xterm, linux)."""
    env = os.environ if env is None else env
    if env.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return False
    term = env.get("TERM", "")
    return bool(term) and "256" not in term and "direct" not in term

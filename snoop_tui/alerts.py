"""Alert phrases: words a supervisor wants to hear about the moment they are said.

`AlertWatch(["cancel my account", "lawyer"])` finds them in transcript text:
case-insensitive, whole words only ("lawyer" matches "Lawyer," but not "lawyers"),
a phrase of several words across any spacing, in any script. All phrases are
compiled into one regular expression shaped as a prefix tree (phrases that begin
alike share their beginning), so checking a segment is one scan whose cost hardly
grows with the number of phrases. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["AlertMatch", "AlertWatch", "normalise_phrase"]

_APOSTROPHES = "'\u2019\u02bc"
"""A phrase typed with ' also matches the typographic ’ a transcriber may send."""
_SPACELESS = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3FFFF),
)
"""Scripts written without spaces between words: there a phrase matches inside a run."""

# The atoms a phrase is spelt in, besides its literal characters.
_WORD_START = "\x00start"
_WORD_END = "\x00end"
_SPACE = "\x00space"
_APOSTROPHE = "\x00apostrophe"
_DONE = "\x00done"
_ATOM_PATTERNS = {
    _WORD_START: r"(?<!\w)",  # lookarounds, not \b: a phrase may begin with "$"
    _WORD_END: r"(?!\w)",
    _SPACE: r"\s+",
    _APOSTROPHE: f"[{re.escape(_APOSTROPHES)}]",
}

_RANK = {_SPACE: 1, _APOSTROPHE: 1, _WORD_START: 1, _WORD_END: 2, _DONE: 3}
"""Branch order: go on with the phrase before ending it, so the longest phrase wins."""

Trie = dict[str, "Trie"]


def normalise_phrase(phrase: str) -> str:
    """The phrase as shown: trimmed, runs of spacing made one space."""
    return " ".join(phrase.split())


def _spaceless(c: str) -> bool:
    return any(low <= ord(c) <= high for low, high in _SPACELESS)


def _key(text: str) -> str:
    """What two spellings of one phrase have in common (case, spacing, apostrophes)."""
    folded = " ".join(text.split()).casefold()
    return "".join("'" if c in _APOSTROPHES else c for c in folded)


def _atoms(phrase: str) -> list[str]:
    atoms = [] if _spaceless(phrase[0]) else [_WORD_START]
    for c in phrase:
        if c == " ":
            atoms.append(_SPACE)
        elif c in _APOSTROPHES:
            atoms.append(_APOSTROPHE)
        else:
            lower = c.lower()
            atoms.append(lower if len(lower) == 1 else c)
    if not _spaceless(phrase[-1]):
        atoms.append(_WORD_END)
    return [*atoms, _DONE]


def _trie_pattern(node: Trie) -> str:
    """A regex for every path through `node`; a longer phrase is tried before its prefix."""
    branches = []
    for atom in sorted(node, key=lambda a: (_RANK.get(a, 0), a)):
        if atom == _DONE:
            branches.append("")
        else:
            head = _ATOM_PATTERNS.get(atom) or re.escape(atom)
            branches.append(head + _trie_pattern(node[atom]))
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


@dataclass(frozen=True)
class AlertMatch:
    """Where a phrase was found in a text: `text[start:end]` is what was said."""

    phrase: str
    start: int
    end: int


class AlertWatch:
    """The configured alert phrases, ready to look for in each segment."""

    def __init__(self, phrases: Iterable[str]) -> None:
        by_key: dict[str, str] = {}
        for phrase in phrases:
            shown = normalise_phrase(phrase)
            if shown and _key(shown) not in by_key:
                by_key[_key(shown)] = shown
        self.phrases: tuple[str, ...] = tuple(by_key.values())
        """The phrases watched for, empty ones and duplicates left out, in the given order."""
        self._by_key = by_key
        self._regex: re.Pattern[str] | None = None
        self._each: list[tuple[str, re.Pattern[str]]] = []
        if by_key:
            root: Trie = {}
            for shown in self.phrases:
                node = root
                for atom in _atoms(shown):
                    node = node.setdefault(atom, {})
            self._regex = re.compile(_trie_pattern(root), re.IGNORECASE)

    def __bool__(self) -> bool:
        return self._regex is not None

    def __repr__(self) -> str:
        return f"AlertWatch({list(self.phrases)!r})"

    def match(self, text: str) -> str | None:
        """The first phrase found in `text` (as configured), or None."""
        if self._regex is None:
            return None
        found = self._regex.search(text)
        return self._phrase(found.group()) if found is not None else None

    def find(self, text: str) -> list[AlertMatch]:
        """Every place a phrase is said in `text`, left to right (for highlighting)."""
        if self._regex is None:
            return []
        return [
            AlertMatch(self._phrase(found.group()), found.start(), found.end())
            for found in self._regex.finditer(text)
        ]

    def _phrase(self, said: str) -> str:
        """Which configured phrase the words found are (by key; else the one that fits)."""
        phrase = self._by_key.get(_key(said))
        if phrase is not None:
            return phrase
        if not self._each:  # case rules the key does not share (rare): ask each phrase
            self._each = [
                (p, re.compile(_trie_pattern(_chain(_atoms(p))), re.IGNORECASE))
                for p in sorted(self.phrases, key=len, reverse=True)
            ]
        return next((p for p, regex in self._each if regex.fullmatch(said)), said)


def _chain(atoms: list[str]) -> Trie:
    root: Trie = {}
    node = root
    for atom in atoms:
        node = node.setdefault(atom, {})
    return root

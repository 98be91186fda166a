"""`snoop-tui help`: the topics, each a plain text of at most 80 columns, and the keys
topic names every key the board and the panel bind."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from textual.binding import Binding
from textual.dom import DOMNode

from snoop_tui.app import SnoopApp
from snoop_tui.help_topics import TOPICS
from snoop_tui.screens.board import BoardScreen
from snoop_tui.screens.panel import PanelScreen
from snoop_tui.settings import CONFIG_KEYS
from snoop_tui.widgets.call_list import CallList


def snoop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snoop_tui", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "ANYREACH_CONFIG": "/nonexistent"},
    )


def test_help_lists_the_topics() -> None:
    run = snoop("help")
    assert run.returncode == 0, run.stderr
    for name in ("credential", "ids", "audio", "config", "keys"):
        assert f"  {name}  " in run.stdout
    assert run.stderr == ""


@pytest.mark.parametrize("name", sorted(TOPICS))
def test_each_topic_prints_its_plain_text(name: str) -> None:
    run = snoop("help", name)
    assert run.returncode == 0, run.stderr
    assert run.stdout == TOPICS[name].text + "\n"
    for line in TOPICS[name].text.splitlines():
        assert len(line) <= 80, line
        assert line.isascii(), line  # plain text: no glyphs, no markup
    assert "[/" not in TOPICS[name].text and "[bold" not in TOPICS[name].text


def test_an_unknown_topic_lists_the_topics_and_exits_2() -> None:
    run = snoop("help", "scopes")
    assert run.returncode == 2
    assert "no help topic 'scopes'" in run.stderr and "credential" in run.stderr
    assert run.stdout == ""


def test_help_on_a_command_shows_its_flags() -> None:
    run = snoop("help", "doctor")
    assert run.returncode == 0
    assert "--json" in run.stdout


def test_the_credential_topic_says_where_it_comes_from_and_the_scopes() -> None:
    text = TOPICS["credential"].text
    for words in (
        "ANYREACH_TOKEN",
        "ANYREACH_TOKEN_FILE",
        "token_file",
        "Never from the command line",
    ):
        assert words in text
    for scope in ("conversations:read_sensitive", "conversations:manage", "conversations:read"):
        assert scope in text


def test_the_audio_topic_is_the_readme_recipe() -> None:
    text = TOPICS["audio"].text
    for words in ("module-native-protocol-tcp", "ssh -R 4713:127.0.0.1:4713", "PULSE_SERVER="):
        assert words in text


def test_the_config_topic_names_every_config_key() -> None:
    text = TOPICS["config"].text
    for key in CONFIG_KEYS:
        assert f"\n  {key} " in text, key


KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "enter": "Enter",
    "escape": "Esc",
    "end": "End",
    "home": "Home",
    "pageup": "PageUp",
    "pagedown": "PageDown",
    "plus": "+",
    "minus": "-",
    "ctrl+c": "Ctrl+C",
}


def keys_named(text: str) -> set[str]:
    """The keys in the first column of the topic's tables: `x (or q)`, `+ / -`, ..."""
    named: set[str] = set()
    for line in text.splitlines():
        column = line[2:].split("  ")[0] if line.startswith("  ") and line[2] != " " else ""
        named.update(k for k in re.split(r"\s*(?: / |, |\(or |\)|;)\s*", column) if k)
    return named


@pytest.mark.parametrize("screen", [BoardScreen, PanelScreen, CallList, SnoopApp])
def test_the_keys_topic_names_every_bound_key(screen: type[DOMNode]) -> None:
    named = keys_named(TOPICS["keys"].text)
    for binding in screen.BINDINGS:
        assert isinstance(binding, Binding)
        key = binding.key.split(",")[0]
        assert KEY_NAMES.get(key, key) in named, f"{screen.__name__}: {key} ({binding.description})"

"""Alert phrases: whole words, any case, any spacing, any script; and how they are set."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from snoop_tui.alerts import AlertMatch, AlertWatch
from snoop_tui.commands import StartCall
from snoop_tui.errors import ConfigError
from snoop_tui.protocol import decode_command, encode
from snoop_tui.settings import Secret, Settings, load_settings


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("I will call my lawyer", "lawyer"),
        ("My Lawyer, said so.", "lawyer"),
        ("LAWYER!", "lawyer"),
        ("(lawyer)", "lawyer"),
        ("lawyers are expensive", None),
        ("a lawyerly tone", None),
        ("the attorney-lawyer thing", "lawyer"),
        ("not a layer", None),
    ],
)
def test_a_phrase_matches_whole_words_in_any_case(text: str, found: str | None) -> None:
    assert AlertWatch(["lawyer"]).match(text) == found


def test_a_phrase_of_several_words_matches_across_any_spacing() -> None:
    watch = AlertWatch(["cancel my account"])
    assert watch.match("I want to Cancel my account today") == "cancel my account"
    assert watch.match("cancel\tmy\n  account") == "cancel my account"
    assert watch.match("cancel my accounts") is None
    assert watch.match("cancel   account") is None


def test_the_phrase_is_reported_as_configured_and_the_longest_wins() -> None:
    watch = AlertWatch(["credit card", "  Credit   card number ", "refund"])
    assert watch.phrases == ("credit card", "Credit card number", "refund")
    assert watch.match("my credit card number is") == "Credit card number"
    assert watch.match("my credit card is") == "credit card"
    assert watch.find("refund my credit card, refund") == [
        AlertMatch("refund", 0, 6),
        AlertMatch("credit card", 10, 21),
        AlertMatch("refund", 23, 29),
    ]


def test_empty_and_duplicate_phrases_are_ignored() -> None:
    watch = AlertWatch(["", "   ", "Lawyer", "lawyer", "LAWYER "])
    assert watch.phrases == ("Lawyer",)
    assert not AlertWatch(["", " \t"])
    assert AlertWatch([]).match("anything at all") is None
    assert AlertWatch([]).find("anything") == []


def test_unicode_text_and_phrases() -> None:
    watch = AlertWatch(["résilier", "ÜBERWEISUNG", "退款", "can't"])
    assert watch.match("Je veux RÉSILIER mon contrat") == "résilier"
    assert watch.match("je veux résilierai") is None  # a longer word is not the word
    assert watch.match("eine überweisung bitte") == "ÜBERWEISUNG"
    assert watch.match("我要退款") == "退款"  # written without spaces: matched inside the run
    assert watch.match("I can’t pay this") == "can't"  # the typographic apostrophe too
    assert watch.match("␛[2J lawyer ␇") is None


def test_phrases_are_literal_not_patterns() -> None:
    watch = AlertWatch(["$500", "a.b", "(cancel)", "c++"])
    assert watch.match("it cost $500.") == "$500"
    assert watch.match("axb") is None
    assert watch.match("a.b") == "a.b"
    assert watch.match("please (cancel) it") == "(cancel)"
    assert watch.match("I code c++ daily") == "c++"
    assert watch.match("cancel") is None


def test_many_phrases_over_a_long_text_stay_fast() -> None:
    watch = AlertWatch([f"phrase number {n}" for n in range(500)] + ["lawyer"])
    text = "the caller keeps talking about the weather " * 200 + "and a lawyer"
    started = time.perf_counter()
    for _ in range(50):
        assert watch.match(text) == "lawyer"
    assert (time.perf_counter() - started) / 50 < 0.05


# settings ------------------------------------------------------------------------------


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_alerts_come_from_the_config_file_and_each_flag_adds_one(tmp_path: Path) -> None:
    config = _config(tmp_path, 'alerts = ["cancel my account", " ", "lawyer"]\n')
    settings = load_settings(
        {"alerts": ["refund", "  speak  to a manager "]}, env={}, config_path=config
    )
    assert settings.alerts == ("cancel my account", "lawyer", "refund", "speak to a manager")
    assert load_settings(env={}, config_path=tmp_path / "none.toml").alerts == ()


def test_the_bell_rings_unless_the_config_says_no(tmp_path: Path) -> None:
    assert load_settings(env={}, config_path=tmp_path / "none.toml").bell is True
    assert load_settings(env={}, config_path=_config(tmp_path, "bell = false\n")).bell is False


def test_the_save_directory_comes_from_the_config_or_the_save_flag(tmp_path: Path) -> None:
    config = _config(tmp_path, 'save_dir = "~/calls"\n')
    assert load_settings(env={}, config_path=config).save_dir == str(Path.home() / "calls")
    flagged = load_settings({"save_dir": str(tmp_path / "x")}, env={}, config_path=config)
    assert flagged.save_dir == str(tmp_path / "x")
    assert load_settings(env={}, config_path=tmp_path / "none.toml").save_dir is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('alerts = "lawyer"\n', "`alerts` in the config file must be a list of phrases"),
        ("alerts = [1, 2]\n", "must be a list of phrases"),
        ('alerts = ["ok", ["nested"]]\n', "must be a list of phrases"),
        (f'alerts = ["{"x" * 201}"]\n', "over 200 characters"),
        ('bell = "yes"\n', "`bell` in the config file must be true or false"),
        ("bell = 1\n", "true or false"),
        ("save_dir = 5\n", "`save_dir` must be a directory name"),
        ('save_dir = "  "\n', "`save_dir` must be a directory name"),
    ],
)
def test_mistyped_settings_are_explained(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace("[", r"\[")):
        load_settings(env={}, config_path=_config(tmp_path, text))


def test_the_new_settings_reach_the_call_process_intact() -> None:
    settings = Settings(
        api_url="http://127.0.0.1:9",
        credential=Secret("ak_start_secret"),
        alerts=("lawyer", "cancel my account"),
        bell=False,
        save_dir="/tmp/calls",
    )
    start = StartCall("conv_1", settings)
    assert decode_command(encode(start)) == start


def test_the_flags_are_on_watch_board_and_demo() -> None:
    from snoop_tui.cli_parser import build_parser

    parser = build_parser()
    args = parser.parse_args(
        ["watch", "conv_1", "--alert", "refund", "--alert", "a b", "--save", "x"]
    )
    assert (args.alert, args.save) == (["refund", "a b"], "x")
    args = parser.parse_args(["board", "--alert", "refund", "--save", "calls/"])
    assert (args.alert, args.save) == (["refund"], "calls/")
    assert parser.parse_args(["demo", "--alert", "refund"]).alert == ["refund"]
    assert parser.parse_args(["watch", "conv_1"]).alert is None

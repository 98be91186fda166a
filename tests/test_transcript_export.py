"""Saving a transcript: readable Markdown and JSON lines, private, never overwriting,
never carrying a terminal escape or a secret."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from snoop_tui.errors import SnoopError
from snoop_tui.events import HistoryLine
from snoop_tui.settings import Secret
from snoop_tui.transcript import Role, Transcript, TranscriptSegment
from snoop_tui.transcript_export import format_offset, save_transcript
from tests.mischief import MARKUP_AND_ESCAPES

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
NOW = datetime(2024, 5, 1, 10, 30, 15, tzinfo=UTC)
CREDENTIAL = "ak_export_secret_123"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Anything a terminal could act on (newline and tab are the file's own layout)."""


def call(*turns: tuple[Role, str, float, bool]) -> list[TranscriptSegment]:
    """Segments as the session builds them (cleaned by `Transcript.update`)."""
    transcript = Transcript()
    for n, (role, text, seconds, final) in enumerate(turns):
        transcript.update(
            f"SG_{n}",
            role=role,
            speaker="Ava" if role is Role.AGENT else "Caller",
            text=text,
            final=final,
            owner="agent-1",
            spoken_at=(START.timestamp() + seconds) * 1000,
        )
    return list(transcript)


SEGMENTS = call(
    (Role.CALLER, "My bill is twice what I usually pay.", 192.4, True),
    (Role.AGENT, "Thanks for calling, this is Ava.", 185.0, True),
    (Role.AGENT, "Let me look at the acc", 200.0, False),
)
HISTORY = (
    HistoryLine(Role.AGENT, "Hello, Northwind billing.", START + timedelta(seconds=2)),
    HistoryLine(Role.CALLER, "Hi.", None),
)


def save(directory: Path | str | None, **options: object) -> tuple[Path, Path]:
    values: dict[str, object] = {
        "conversation_id": "conv_1",
        "started_at": START,
        "history": (),
        "now": NOW,
        **options,
    }
    segments = values.pop("segments", SEGMENTS)
    return save_transcript(segments, directory, **values)  # type: ignore[arg-type]


def test_markdown_reads_as_a_transcript_with_times_into_the_call(tmp_path: Path) -> None:
    markdown, jsonl = save(tmp_path)
    assert markdown.parent == tmp_path and jsonl == markdown.with_suffix(".jsonl")
    assert markdown.name == "conv_1-20240501-103015.md"
    text = markdown.read_text(encoding="utf-8")
    assert text.startswith("# Call transcript: conv\\_1\n")
    assert "- Conversation: conv\\_1\n" in text and "- Started: 2024-05-01 10:00:00 UTC" in text
    lines = [line for line in text.splitlines() if re.match(r"\d\d:\d\d ", line)]
    assert lines == [
        "03:05 **Ava:** Thanks for calling, this is Ava.",
        "03:12 **Caller:** My bill is twice what I usually pay.",
        "03:20 **Ava:** Let me look at the acc …",
    ]
    assert "Before you joined" not in text


def test_history_comes_first_under_its_own_heading(tmp_path: Path) -> None:
    markdown, jsonl = save(tmp_path, history=HISTORY)
    text = markdown.read_text(encoding="utf-8")
    before, since = text.split("## Before you joined", 1)[1].split("## Since you joined", 1)
    assert "00:02 **Agent:** Hello, Northwind billing." in before
    assert "--:-- **Caller:** Hi." in before
    assert "Thanks for calling" in since
    records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert [r["history"] for r in records] == [True, True, False, False, False]
    assert records[0]["id"] is None and records[0]["seconds_into_call"] == 2.0
    assert records[1]["wall_time"] is None and records[1]["seconds_into_call"] is None


def test_the_json_lines_twin_carries_each_line_s_fields(tmp_path: Path) -> None:
    _, jsonl = save(tmp_path)
    records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert records[1] == {
        "id": "SG_0",
        "speaker": "Caller",
        "role": "caller",
        "text": "My bill is twice what I usually pay.",
        "final": True,
        "history": False,
        "seconds_into_call": 192.4,
        "wall_time": "2024-05-01T10:03:12.400000+00:00",
    }
    assert [r["final"] for r in records] == [True, True, False]


def test_without_a_start_time_counts_from_the_first_thing_said(tmp_path: Path) -> None:
    markdown, jsonl = save(tmp_path, started_at=None)
    text = markdown.read_text(encoding="utf-8")
    assert "- Started: -" in text
    assert "00:00 **Ava:** Thanks for calling" in text and "00:07 **Caller:**" in text


def test_files_are_private_and_never_overwritten(tmp_path: Path) -> None:
    old_umask = os.umask(0o002)
    try:
        first = save(tmp_path)
        second = save(tmp_path)
        third = save(tmp_path)
    finally:
        os.umask(old_umask)
    names = [p.name for pair in (first, second, third) for p in pair]
    assert names == [
        "conv_1-20240501-103015.md",
        "conv_1-20240501-103015.jsonl",
        "conv_1-20240501-103015-2.md",
        "conv_1-20240501-103015-2.jsonl",
        "conv_1-20240501-103015-3.md",
        "conv_1-20240501-103015-3.jsonl",
    ]
    for pair in (first, second, third):
        for path in pair:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_name_stem_is_used_as_given_and_an_existing_file_is_kept(tmp_path: Path) -> None:
    keep = tmp_path / "escalation.jsonl"
    keep.write_text("mine\n")
    markdown, jsonl = save(tmp_path / "escalation.md")
    assert (markdown.name, jsonl.name) == ("escalation-2.md", "escalation-2.jsonl")
    assert keep.read_text() == "mine\n"
    assert not (tmp_path / "escalation.md").exists()  # a pair is never split across names
    deeper = save(tmp_path / "new" / "dir" / "call")
    assert deeper[0] == tmp_path / "new" / "dir" / "call.md"
    for directory in (tmp_path / "new", tmp_path / "new" / "dir"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_a_symlink_in_the_way_is_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "victim"
    target.write_text("precious\n")
    (tmp_path / "call.md").symlink_to(target)
    (tmp_path / "call-2.jsonl").symlink_to(tmp_path / "dangling")
    markdown, jsonl = save(tmp_path / "call")
    assert (markdown.name, jsonl.name) == ("call-3.md", "call-3.jsonl")
    assert target.read_text() == "precious\n"
    assert not (tmp_path / "dangling").exists()


def test_no_terminal_escapes_or_markup_tricks_reach_the_files(tmp_path: Path) -> None:
    hostile = call(
        (Role.CALLER, MARKUP_AND_ESCAPES + " \x9b31m \x00 \x7f", 1.0, True),
        (Role.OTHER, "[click](javascript:alert(1)) <script>x</script> *bold*", 2.0, True),
    )
    history = (HistoryLine(Role.CALLER, "\x1b[31mred\x1b[0m", START),)
    markdown, jsonl = save(tmp_path, segments=hostile, history=history)
    for path in (markdown, jsonl):
        raw = path.read_bytes().decode("utf-8")
        assert not CONTROL.search(raw), path
        assert "\x1b" not in raw and "\x07" not in raw
    text = markdown.read_text(encoding="utf-8")
    assert "␛\\]52;c;ZXZpbA==␇" in text  # shown, not obeyed
    assert "\\[click\\](javascript:alert(1))" in text and "\\<script\\>" in text
    assert "\\*bold\\*" in text
    records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert records[1]["text"].startswith("\\[red\\]") is False  # JSON keeps the words as said
    assert records[1]["text"].startswith("[red]x[/red]")


def test_segments_that_skipped_cleaning_are_cleaned_on_the_way_out(tmp_path: Path) -> None:
    raw = TranscriptSegment(
        "SG_\x1b", Role.AGENT, "Ava\x1b]0;title\x07", "hi \x1b[2J", True, 0, START.timestamp() * 1e3
    )
    markdown, jsonl = save(tmp_path, segments=[raw], conversation_id="conv_\x1b")
    for path in (markdown, jsonl):
        assert not CONTROL.search(path.read_text(encoding="utf-8"))


def test_no_secret_is_ever_written(tmp_path: Path) -> None:
    Secret(CREDENTIAL)  # registered as a secret, as the settings do
    markdown, jsonl = save(tmp_path, history=HISTORY)
    for path in (markdown, jsonl):
        text = path.read_text(encoding="utf-8")
        assert CREDENTIAL not in text and not JWT.search(text)


def test_a_place_that_cannot_be_written_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SnoopError, match="Could not save the transcript as .*file/call.md"):
        save(blocker / "call")
    assert list(tmp_path.iterdir()) == [blocker]


def test_no_place_means_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    markdown, _ = save(None)
    assert markdown.parent == tmp_path


def test_nothing_said_yet_still_saves_a_readable_file(tmp_path: Path) -> None:
    markdown, jsonl = save(tmp_path, segments=[])
    assert "Nothing was said while you listened." in markdown.read_text(encoding="utf-8")
    assert jsonl.read_text(encoding="utf-8") == ""


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "00:00"),
        (59.9, "00:59"),
        (192.4, "03:12"),
        (3599, "59:59"),
        (3725, "1:02:05"),
        (-4, "00:00"),
    ],
)
def test_time_into_the_call_is_minutes_and_seconds(seconds: float, shown: str) -> None:
    assert format_offset(seconds) == shown

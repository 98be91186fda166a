"""Saving a call's transcript: a Markdown file to read and a JSON-lines twin for tools.

`save_transcript` writes both next to each other (`NAME.md`, `NAME.jsonl`). The
files are private (mode 0600, created exclusively, never through a symlink), never
replace an existing file (`NAME-2.md` and so on instead), and hold only text made
safe to show (`clean_text`: control characters written visibly), so `cat`ting a
saved transcript can never drive the terminal. They hold what was said and the
conversation id; the credential and the listener token are never handed to this
module, so they cannot end up in a file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from snoop_tui.errors import SnoopError
from snoop_tui.events import HistoryLine
from snoop_tui.transcript import Role, TranscriptSegment, clean_text

__all__ = ["MAX_NAME_TRIES", "SavedLine", "format_offset", "save_transcript", "transcript_lines"]

MAX_NAME_TRIES = 1000
"""`NAME-2` ... `NAME-1000`: past that, something is wrong with the directory."""
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
_SUFFIXES = (".md", ".jsonl", ".json", ".markdown", ".txt")


def format_offset(seconds: float) -> str:
    """Time into the call: `mm:ss`, or `h:mm:ss` from an hour on (never negative)."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@dataclass(frozen=True)
class SavedLine:
    """One line of a saved transcript, from a live segment or a history line."""

    id: str | None
    role: Role
    speaker: str
    text: str
    final: bool
    wall_time: datetime | None
    seconds: float | None
    history: bool


def _speaker(segment: TranscriptSegment) -> str:
    return clean_text(segment.speaker).strip() or segment.role.label


def transcript_lines(
    segments: Iterable[TranscriptSegment],
    *,
    started_at: datetime | None,
    history: Sequence[HistoryLine] = (),
) -> list[SavedLine]:
    """History first, then the live segments in the order they were said."""
    ordered = sorted(segments, key=lambda s: s.sort_key)
    zero = started_at.timestamp() if started_at is not None else None
    if zero is None:  # time into the call from the first thing we know was said
        known = [line.at.timestamp() for line in history if line.at is not None]
        known += [s.spoken_at / 1000.0 for s in ordered if s.spoken_at]
        zero = min(known) if known else None
    entries = [
        SavedLine(
            id=None,
            role=line.role,
            speaker=line.role.label,
            text=clean_text(line.text),
            final=True,
            wall_time=line.at,
            seconds=None
            if line.at is None or zero is None
            else max(0.0, line.at.timestamp() - zero),
            history=True,
        )
        for line in history
    ]
    for segment in ordered:
        when = segment.spoken_at / 1000.0 if segment.spoken_at else None
        entries.append(
            SavedLine(
                id=clean_text(segment.id),
                role=segment.role,
                speaker=_speaker(segment),
                text=clean_text(segment.text),
                final=segment.final,
                wall_time=datetime.fromtimestamp(when, UTC) if when is not None else None,
                seconds=None if when is None or zero is None else max(0.0, when - zero),
                history=False,
            )
        )
    return entries


def _markdown_text(text: str) -> str:
    """Said text as Markdown shows it literally (no links, emphasis or HTML from a caller)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _markdown(
    entries: Sequence[SavedLine], conversation_id: str, started_at: datetime | None, saved: datetime
) -> str:
    def line(entry: SavedLine) -> str:
        when = format_offset(entry.seconds) if entry.seconds is not None else "--:--"
        unfinished = " …" if not entry.final else ""
        speaker = _markdown_text(entry.speaker)
        return f"{when} **{speaker}:** {_markdown_text(entry.text)}{unfinished}"

    started = started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if started_at else "-"
    out = [
        f"# Call transcript: {_markdown_text(conversation_id)}",
        "",
        f"- Conversation: {_markdown_text(conversation_id)}",
        f"- Started: {started}",
        f"- Saved: {saved.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}",
        "",
    ]
    earlier = [e for e in entries if e.history]
    live = [e for e in entries if not e.history]
    if earlier:
        out += ["## Before you joined", ""]
        for entry in earlier:
            out += [line(entry), ""]
        out += ["## Since you joined", ""]
    for entry in live:
        out += [line(entry), ""]
    if not live:
        out += ["*Nothing was said while you listened.*", ""]
    return "\n".join(out)


def _record(entry: SavedLine) -> dict[str, Any]:
    return {
        "id": entry.id,
        "speaker": entry.speaker,
        "role": entry.role.value,
        "text": entry.text,
        "final": entry.final,
        "history": entry.history,
        "seconds_into_call": round(entry.seconds, 3) if entry.seconds is not None else None,
        "wall_time": entry.wall_time.astimezone(UTC).isoformat() if entry.wall_time else None,
    }


def _jsonl(entries: Sequence[SavedLine]) -> str:
    return "".join(json.dumps(_record(e), ensure_ascii=False) + "\n" for e in entries)


def _target(where: str | os.PathLike[str] | None, conversation_id: str, now: datetime) -> Path:
    """The path stem to write: in a directory, a name from the call and the time."""
    if where is None or str(where) == "":
        where = Path.cwd()
    path = Path(where).expanduser()
    if path.is_dir() or str(where).endswith(os.sep):
        safe_id = re.sub(r"[^A-Za-z0-9_.-]", "_", conversation_id)[:80] or "call"
        return path / f"{safe_id}-{now.astimezone(UTC).strftime('%Y%m%d-%H%M%S')}"
    if path.suffix.lower() in _SUFFIXES:
        path = path.with_suffix("")
    return path


def _make_private_dirs(directory: Path) -> None:
    """Create `directory` and any missing parent, each readable by its owner only."""
    missing = []
    while not directory.exists() and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)


def _create(path: Path) -> int | None:
    """A new private file at `path`; None if something is already there (even a symlink)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        return None
    os.fchmod(fd, 0o600)  # whatever the umask
    return fd


def _claim(stem: Path) -> tuple[Path, int, Path, int]:
    """Create the first free pair `stem.md`/`stem.jsonl`, `stem-2.md`/`stem-2.jsonl`, ..."""
    for n in range(1, MAX_NAME_TRIES + 1):
        name = stem.name if n == 1 else f"{stem.name}-{n}"
        markdown, jsonl = stem.with_name(name + ".md"), stem.with_name(name + ".jsonl")
        first = _create(markdown)
        if first is None:
            continue
        second = _create(jsonl)
        if second is not None:
            return markdown, first, jsonl, second
        os.close(first)
        markdown.unlink()
    raise FileExistsError(errno.EEXIST, "no free file name", str(stem))


def save_transcript(
    segments: Iterable[TranscriptSegment],
    directory_or_path: str | os.PathLike[str] | None,
    *,
    conversation_id: str,
    started_at: datetime | None,
    history: Sequence[HistoryLine] = (),
    now: datetime | None = None,
) -> tuple[Path, Path]:
    """Write the transcript as Markdown and JSON lines; return (markdown path, jsonl path).

    `directory_or_path` is a directory (the files are named after the conversation
    and the time), a path stem (`~/calls/escalation` writes `escalation.md` and
    `escalation.jsonl`; a `.md` or `.jsonl` suffix is dropped), or None for the
    current directory. Segments are written in the order they were said; unfinished
    (interim) ones are marked. Raises `SnoopError` with a message naming the path
    when the files cannot be written."""
    now = now or datetime.now(UTC)
    entries = transcript_lines(segments, started_at=started_at, history=history)
    shown_id = clean_text(conversation_id)
    stem = _target(directory_or_path, conversation_id, now)
    try:
        _make_private_dirs(stem.parent)
        markdown, md_fd, jsonl, jsonl_fd = _claim(stem)
    except OSError as error:
        raise SnoopError(
            f"Could not save the transcript as {stem}.md: {error.strerror or error}."
        ) from None
    try:
        with (
            os.fdopen(md_fd, "w", encoding="utf-8", newline="\n") as md_file,
            os.fdopen(jsonl_fd, "w", encoding="utf-8", newline="\n") as jsonl_file,
        ):
            md_file.write(_markdown(entries, shown_id, started_at, now))
            jsonl_file.write(_jsonl(entries))
    except OSError as error:
        for path in (markdown, jsonl):
            with contextlib.suppress(OSError):
                path.unlink()
        raise SnoopError(
            f"Could not save the transcript as {markdown}: {error.strerror or error}."
        ) from None
    return markdown, jsonl

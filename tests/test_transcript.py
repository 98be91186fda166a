"""The transcript model: in-place interim updates, finals kept exactly once, safe text."""

from dataclasses import replace

from snoop_tui.transcript import MAX_SEGMENT_CHARS, Role, Transcript, clean_text


def test_interim_versions_replace_each_other_in_place() -> None:
    t = Transcript()
    t.update("s1", role=Role.CALLER, speaker="Caller", text="I have", final=False)
    t.update("s2", role=Role.AGENT, speaker="Agent", text="Sure", final=False)
    t.update("s1", role=Role.CALLER, speaker="Caller", text="I have a question", final=False)
    assert [(s.id, s.text) for s in t] == [("s1", "I have a question"), ("s2", "Sure")]


def test_final_segment_is_kept_exactly_once() -> None:
    t = Transcript()
    assert t.update("s1", role=Role.AGENT, speaker="Agent", text="Hello", final=True)
    assert t.update("s1", role=Role.AGENT, speaker="Agent", text="Hello", final=True) is None
    assert t.update("s1", role=Role.AGENT, speaker="Agent", text="Hel", final=False) is None
    assert [(s.text, s.final) for s in t.finals()] == [("Hello", True)]


def test_unchanged_update_reports_nothing() -> None:
    t = Transcript()
    t.update("s1", role=Role.AGENT, speaker="Agent", text="Hi", final=False)
    assert t.update("s1", role=Role.AGENT, speaker="Agent", text="Hi", final=False) is None


def test_terminal_escape_sequences_are_shown_not_interpreted() -> None:
    shown = clean_text("copy \x1b]52;c;ZXZpbA==\x07 now\r\n")
    assert "\x1b" not in shown and "\x07" not in shown
    assert "␛]52;c;ZXZpbA==␇ now" in shown


def test_oversized_segment_is_cut_with_a_marker() -> None:
    shown = clean_text("a" * (MAX_SEGMENT_CHARS + 500))
    assert len(shown) < MAX_SEGMENT_CHARS + 20 and shown.endswith("[cut]")


def test_segments_are_ordered_by_when_they_were_said_not_when_they_arrived() -> None:
    t = Transcript()
    t.update("s6", role=Role.CALLER, speaker="Caller", text="later", final=True, spoken_at=2000)
    t.update("s5", role=Role.AGENT, speaker="Agent", text="earlier", final=True, spoken_at=1000)
    assert [s.id for s in t] == ["s5", "s6"]
    assert [s.id for s in t.finals()] == ["s5", "s6"]


def test_a_later_version_with_another_order_keeps_its_place() -> None:
    """A replaced call process numbers segments afresh: the model keeps each one's place."""
    t = Transcript()
    first = t.update(
        "s1", role=Role.AGENT, speaker="Agent", text="Hel", final=False, spoken_at=1000
    )
    t.update("s2", role=Role.CALLER, speaker="Caller", text="Hi", final=True, spoken_at=2000)
    assert first is not None
    renumbered = replace(first, text="Hello there", final=True, order=99, spoken_at=5000)
    for _ in range(3):  # and again: every later version finds it where it is
        index, new = t.put(renumbered)
        assert (index, new) == (0, False)
    assert [(s.id, s.text) for s in t] == [("s1", "Hello there"), ("s2", "Hi")]

"""The live call board's model: rows that arrive, end and fade, in order, filtered; times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from snoop_tui.board_model import (
    Board,
    ConversationSummary,
    format_elapsed,
    merge_listing,
    parse_summary,
    time_into_call,
)

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def call(
    conversation_id: str, minutes_ago: float = 1.0, status: str = "in_progress", **fields: Any
) -> ConversationSummary:
    fields.setdefault("created_at", T0 - timedelta(minutes=minutes_ago))
    return ConversationSummary(conversation_id, status, **fields)


def ids(board: Board) -> list[str]:
    return [row.id for row in board.rows()]


# -- reading a listed conversation --------------------------------------------------


def test_a_full_item_is_read_into_a_summary() -> None:
    summary = parse_summary(
        {
            "id": "conv_1",
            "status": "in_progress",
            "agent": {"id": "agent_7", "name": "Billing Assistant"},
            "agent_number": "+18005550199",
            "user_id": "+14155550100",
            "channel": "Telephone",
            "direction": "inbound",
            "duration": 12,
            "created_at": "2025-03-01T11:58:00.250Z",
        }
    )
    assert summary == ConversationSummary(
        id="conv_1",
        status="in_progress",
        agent_name="Billing Assistant",
        agent_id="agent_7",
        caller="+14155550100",
        agent_number="+18005550199",
        channel="telephone",
        direction="inbound",
        created_at=datetime(2025, 3, 1, 11, 58, 0, 250000, tzinfo=UTC),
        duration=12.0,
    )
    assert summary.listenable and summary.not_listenable_reason is None


@pytest.mark.parametrize(
    "item",
    [
        "conv_1",
        None,
        ["conv_1", "in_progress"],
        {"status": "in_progress"},
        {"id": "conv_1"},
        {"id": 42, "status": "in_progress"},
        {"id": "conv_1", "status": 3},
        {"id": "conv_1", "status": ""},
        {"id": "", "status": "in_progress"},
        {"id": "../../etc/passwd", "status": "in_progress"},
    ],
    ids=[
        "string",
        "null",
        "array",
        "no-id",
        "no-status",
        "int-id",
        "int-status",
        "empty-status",
        "empty-id",
        "path-id",
    ],
)
def test_an_item_without_a_usable_id_and_status_is_not_a_call(item: object) -> None:
    assert parse_summary(item) is None


def test_fields_of_the_wrong_type_are_unknown_not_fatal() -> None:
    summary = parse_summary(
        {
            "id": "conv_1",
            "status": "ringing",
            "agent": "Billing Assistant",
            "agent_number": 18005550199,
            "user_id": {"phone": "+1"},
            "channel": ["telephone"],
            "direction": None,
            "duration": True,
            "created_at": "yesterday",
        }
    )
    assert summary == ConversationSummary(id="conv_1", status="ringing")
    assert parse_summary({"id": "conv_2", "status": "ringing", "duration": -3}) == (
        ConversationSummary(id="conv_2", status="ringing")
    )


def test_text_from_the_platform_cannot_drive_the_terminal() -> None:
    summary = parse_summary(
        {
            "id": "conv_1",
            "status": "in_progress",
            "agent": {"name": "\x1b[2J\x1b]0;pwned\x07Tech\u202e Support\n\t"},
            "user_id": "  +1 555\r\n0100 ",
        }
    )
    assert summary is not None
    assert summary.agent_name == "[2J]0;pwnedTech Support"
    assert summary.caller == "+1 555 0100"


def test_a_naive_timestamp_is_utc_and_agent_id_may_be_top_level() -> None:
    summary = parse_summary(
        {"id": "c", "status": "triggered", "created_at": "2025-03-01T11:00:00", "agent_id": "a1"}
    )
    assert summary is not None
    assert summary.created_at == datetime(2025, 3, 1, 11, 0, tzinfo=UTC)
    assert summary.agent_id == "a1"


@pytest.mark.parametrize("channel", ["email", "text", "EMAIL"])
def test_email_and_text_are_listed_but_cannot_be_listened_to(channel: str) -> None:
    summary = parse_summary({"id": "c", "status": "in_progress", "channel": channel})
    assert summary is not None and not summary.listenable
    assert summary.not_listenable_reason == f"{channel.lower()} conversations have no audio"


def test_merge_keeps_each_call_once_with_its_later_status_newest_first() -> None:
    merged = merge_listing(
        [
            call("old", 9),
            call("moved", 2, "ringing"),
            call("undated", 0, created_at=None),
            call("new", 1),
            call("moved", 2, "in_progress"),
            call("moved", 2, "triggered"),
        ]
    )
    assert [c.id for c in merged] == ["new", "moved", "old", "undated"]
    assert merged[1].status == "in_progress"


# -- time into the call -------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "00:00"),
        (59.9, "00:59"),
        (61, "01:01"),
        (3599, "59:59"),
        (3600, "1:00:00"),
        (3 * 3600 + 62, "3:01:02"),
        (36 * 3600, "36:00:00"),
        (-5, "00:00"),
    ],
)
def test_elapsed_time_reads_as_minutes_then_hours(seconds: float, shown: str) -> None:
    assert format_elapsed(seconds) == shown


def test_time_into_the_call_counts_from_created_at() -> None:
    assert time_into_call(T0 - timedelta(minutes=2, seconds=5), T0) == "02:05"
    assert time_into_call(None, T0) is None


# -- the board across refreshes -----------------------------------------------------


def test_the_first_look_marks_nothing_new_and_orders_newest_first() -> None:
    board = Board(clock=FakeClock())
    board.update([call("a", 5), call("c", 1), call("b", 3)])
    assert ids(board) == ["c", "b", "a"]
    assert not any(row.is_new or row.ended for row in board.rows())
    assert board.live_count == 3


def test_a_call_that_arrives_is_new_for_a_few_seconds() -> None:
    clock = FakeClock()
    board = Board(clock=clock, new_for=5.0)
    board.update([call("a", 5)])
    clock.now += 2
    board.update([call("a", 5), call("b", 0.1)])
    assert [(row.id, row.is_new) for row in board.rows()] == [("b", True), ("a", False)]
    clock.now += 4.9
    board.update([call("a", 5), call("b", 0.1)])
    assert board.row("b") is not None and board.row("b").is_new  # type: ignore[union-attr]
    clock.now += 0.1
    assert not any(row.is_new for row in board.rows())


def test_a_call_that_ends_stays_in_place_marked_ended_then_goes() -> None:
    clock = FakeClock()
    board = Board(clock=clock, ended_for=5.0)
    board.update([call("a", 1), call("b", 2), call("c", 3)])
    clock.now += 1
    board.update([call("a", 1), call("c", 3)])
    rows = board.rows()
    assert [(row.id, row.ended) for row in rows] == [("a", False), ("b", True), ("c", False)]
    assert not rows[1].listenable
    assert board.live_count == 2
    clock.now += 4.9
    board.update([call("a", 1), call("c", 3)])
    assert ids(board) == ["a", "b", "c"]
    clock.now += 0.1
    assert ids(board) == ["a", "c"]  # gone without a refresh, once its time is up
    assert board.row("b") is None


def test_a_call_missing_from_one_refresh_comes_back_live() -> None:
    clock = FakeClock()
    board = Board(clock=clock)
    board.update([call("a"), call("b", 2)])
    clock.now += 1
    board.update([call("a")])
    clock.now += 1
    board.update([call("a"), call("b", 2)])
    assert [(row.id, row.ended, row.is_new) for row in board.rows()] == [
        ("a", False, False),
        ("b", False, False),
    ]


def test_a_refresh_updates_a_rows_status_in_place() -> None:
    board = Board(clock=FakeClock())
    board.update([call("a", 1, "ringing")])
    board.update([call("a", 1, "in_progress")])
    row = board.row("a")
    assert row is not None and row.call.status == "in_progress" and not row.is_new


def test_the_filter_matches_agent_caller_or_number_ignoring_case() -> None:
    board = Board(clock=FakeClock())
    board.update(
        [
            call("a", 1, agent_name="Billing Assistant", caller="+14155550100"),
            call("b", 2, agent_name="Tech Support", agent_number="+18005550123"),
            call("c", 3, agent_name=None, caller=None, agent_number=None),
        ]
    )
    board.filter_text = "  BILLING "
    assert ids(board) == ["a"]
    board.filter_text = "0123"
    assert ids(board) == ["b"]
    board.filter_text = "415555"
    assert ids(board) == ["a"]
    board.filter_text = "S"
    assert ids(board) == ["a", "b"]  # nothing to match in c
    board.filter_text = "nobody"
    assert ids(board) == [] and board.row("a") is not None
    board.filter_text = ""
    assert ids(board) == ["a", "b", "c"]

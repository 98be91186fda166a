"""The stall watch without a server: a stall reported once and its end once, and stats
failures logged (each kind once per outage) without ever stopping the watch."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from livekit import rtc
from livekit.rtc._proto import stats_pb2

from snoop_tui.liveness import MAX_LOGGED_FAILURES, StallWatch


def stats(bytes_received: int) -> rtc.RtcStats:
    transport = stats_pb2.TransportStats(bytes_received=bytes_received)
    item = stats_pb2.RtcStats(transport=stats_pb2.RtcStats.Transport(transport=transport))
    return rtc.RtcStats(publisher_stats=[], subscriber_stats=[item])


class Publication:
    subscribed = True


class Participant:
    track_publications = {"TR_audio": Publication()}


class StatsRoom:
    """A connected room with a subscribed track, whose stats answer from a script."""

    remote_participants = {"agent-1": Participant()}

    def __init__(self, answers: list[int | Exception]) -> None:
        self.answers = answers
        self.polls = 0

    def isconnected(self) -> bool:
        return True

    async def get_rtc_stats(self) -> rtc.RtcStats:
        answer = self.answers[min(self.polls, len(self.answers) - 1)]
        self.polls += 1
        if isinstance(answer, Exception):
            raise answer
        return stats(answer)


class Watched:
    def __init__(self, answers: list[int | Exception]) -> None:
        self.room = StatsRoom(answers)
        self.events: list[str] = []
        self.watch = StallWatch(
            lambda: cast(Any, self.room),
            on_stall=self.stall,
            on_resume=lambda: self.events.append("resume"),
            stall_seconds=0.0,
            interval=0.0,
        )

    def stall(self) -> bool:
        self.events.append("stall")
        return True

    async def run(self) -> None:
        """Poll once per scripted answer, then stop."""
        await self.watch.run(lambda: self.room.polls < len(self.room.answers))


async def test_a_stall_is_reported_once_and_its_end_once() -> None:
    watched = Watched([100, 200, 200, 200, 200, 300, 300])
    await watched.run()
    assert watched.events == ["stall", "resume", "stall"]


async def test_stats_failures_are_logged_once_each_and_the_watch_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = [RuntimeError("stats unavailable")] * 50 + [TimeoutError()] * 50
    watched = Watched([100, *outage, 200, RuntimeError("stats unavailable"), 300])
    with caplog.at_level(logging.DEBUG, logger="snoop_tui.liveness"):
        await watched.run()
    assert watched.room.polls == len(watched.room.answers), "failures never stop the watch"
    assert [r.getMessage() for r in caplog.records] == [
        "transport stats unavailable, stall check paused: RuntimeError: stats unavailable",
        "transport stats unavailable, stall check paused: TimeoutError",
        "transport stats available again, stall check resumed",
        "transport stats unavailable, stall check paused: RuntimeError: stats unavailable",
        "transport stats available again, stall check resumed",
    ]


async def test_failures_that_differ_every_time_stop_being_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage: list[int | Exception] = [RuntimeError(f"failure {n}") for n in range(100)]
    watched = Watched(outage)
    with caplog.at_level(logging.DEBUG, logger="snoop_tui.liveness"):
        await watched.run()
    assert len(caplog.records) == MAX_LOGGED_FAILURES + 1
    assert "not logging more" in caplog.records[-1].getMessage()


async def test_no_stats_read_while_transcription_comes_and_a_stall_seen_4_s_after_it_ends() -> None:
    """Each stats read costs LiveKit's native core a millisecond or more; transcription
    comes over the same transport, so while it keeps coming the watch reads nothing.
    When it stops and the byte count stands still, the stall is reported 4 s after the
    last line was heard, as it would be had the watch been reading all along."""
    second = 1 / 1024  # the watch's clock runs a tick a poll, so nothing here waits
    room = StatsRoom([100])  # the server froze: its byte count never moves again
    tick = 0
    heard_at = {*range(1, 11), 25}
    events: list[tuple[str, int]] = []

    def stall() -> bool:
        events.append(("stall", tick))
        return True

    watch = StallWatch(
        lambda: cast(Any, room),
        on_stall=stall,
        on_resume=lambda: events.append(("resume", tick)),
        stall_seconds=4 * second,
        interval=second,
        clock=lambda: tick * second,
    )

    def next_second() -> bool:
        nonlocal tick
        tick += 1
        if tick in heard_at:
            watch.heard()
        return tick <= 25

    await watch.run(next_second)
    assert events == [("stall", 14), ("resume", 25)]
    assert room.polls == 14, "stats are read only in the 14 seconds nothing was heard"

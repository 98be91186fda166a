"""Notices a call server that has gone quiet, long before LiveKit's own ping gives up.

LiveKit's signal ping declares a connection dead only after 15 s, so a frozen server
would show as LIVE all that time. Media and RTCP arrive every second or so on a
healthy call, silent or not; when the transport's received-bytes counter stops
moving while there are subscribed tracks, the connection is stale.

Reading those stats is not free: each read has LiveKit's native core gather and
encode the whole WebRTC stats report, about 1 to 1.5 ms of CPU (measured: a read ten
times a second cost 0.6 to 1 CPU s/min). Transcription arrives over the same
transport as the media, so a line of it is proof enough that the server is there:
while it keeps coming, the watch reads no stats at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from livekit import rtc

log = logging.getLogger(__name__)

STALL_SECONDS = 4.0
"""No bytes at all from the call server for this long means the connection is stale."""
MAX_LOGGED_FAILURES = 5
"""Distinct stats failures logged per outage; a failure that repeats is logged once."""


def bytes_received(stats: rtc.RtcStats) -> int:
    return sum(
        item.transport.transport.bytes_received
        for item in (*stats.publisher_stats, *stats.subscriber_stats)
        if item.WhichOneof("stats") == "transport"
    )


def expects_media(room: rtc.Room) -> bool:
    """Whether anything should be arriving: an empty room is quiet, not stale."""
    return any(
        publication.subscribed
        for participant in room.remote_participants.values()
        for publication in participant.track_publications.values()
    )


class StallWatch:
    """Polls the room's transport stats; reports a stall once, and its end once."""

    def __init__(
        self,
        room: Callable[[], rtc.Room],
        *,
        on_stall: Callable[[], bool],
        on_resume: Callable[[], None],
        stall_seconds: float = STALL_SECONDS,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._room = room  # a getter: the session replaces its room when it rejoins
        self._on_stall = on_stall
        self._on_resume = on_resume
        self._stall_seconds = stall_seconds
        self._interval = interval
        self._clock = clock
        self._heard_at = float("-inf")
        self._failures_logged: set[str] = set()
        """Stats failures already logged in the current outage: a long one logs each once."""

    def heard(self) -> None:
        """Something arrived over the call's transport just now (a line of transcription)."""
        self._heard_at = self._clock()

    async def run(self, active: Callable[[], bool]) -> None:
        last_bytes: int | None = None  # None: not read since something was last heard
        last_change = self._clock()
        stalled = False
        while active():
            await asyncio.sleep(self._interval)
            room = self._room()
            now = self._clock()
            if not room.isconnected():  # joining again: its new transport counts afresh
                last_bytes, last_change = None, now
                continue
            if now - self._heard_at < self._interval:  # the server is there: no stats read
                last_bytes, last_change = None, self._heard_at
                if stalled:
                    self._on_resume()
                stalled = False
                continue
            try:
                received = bytes_received(await room.get_rtc_stats())
            except Exception as error:  # stats are advisory; the SDK's own signals still apply
                self._stats_failed(error)
                continue
            self._stats_back()
            now = self._clock()
            if last_bytes is None:  # the count to compare with; quiet since last heard
                last_bytes, last_change = received, max(last_change, self._heard_at)
            elif received != last_bytes or not expects_media(room):
                last_bytes, last_change = received, now
                if stalled:
                    self._on_resume()
                stalled = False
            elif not stalled and now - last_change >= self._stall_seconds:
                stalled = self._on_stall()

    def _stats_failed(self, error: Exception) -> None:
        failure = (type(error).__name__ + (f": {error}" if str(error) else ""))[:200]
        if failure in self._failures_logged or len(self._failures_logged) > MAX_LOGGED_FAILURES:
            return
        self._failures_logged.add(failure)
        if len(self._failures_logged) > MAX_LOGGED_FAILURES:
            log.info("transport stats keep failing in new ways; not logging more until they work")
        else:
            log.info("transport stats unavailable, stall check paused: %s", failure)

    def _stats_back(self) -> None:
        if self._failures_logged:
            self._failures_logged.clear()
            log.info("transport stats available again, stall check resumed")

"""One call watched by the instrumented panel (`bench.panel_host`), with a feeder in the room.

The call is a `SimulatedCall` held silent (its script never starts): an agent and a
caller in the room, publishing their microphone tracks, saying nothing, so the only
transcription is what the feeder sends. The panel runs in a real pseudo-terminal of
100 x 30, its reports arrive on a pipe (read by a thread), and keys are typed into
the terminal as a person would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from bench.common import PYTHON, REPO_ROOT, BenchStack, only_child, rss_mib, until
from bench.feeder import Feeder, sentence
from bench.terminal import Terminal
from snoop_tui.demo.call import SimulatedCall

END_KEY = b"\x1b[F"


@dataclass
class Reports:
    """Everything the panel host reported, indexed for the questions the benchmark asks."""

    arrivals: dict[str, float] = field(default_factory=dict)
    """Marker -> when the first version carrying it reached the app."""
    shown: dict[str, float] = field(default_factory=dict)
    """Marker -> when `show_segment` first applied a version carrying it."""
    shown_final: dict[str, float] = field(default_factory=dict)
    """Marker -> when `show_segment` applied the final version carrying it."""
    paints: list[tuple[float, list[str], list[int]]] = field(default_factory=list)
    volume: int | None = None
    """The volume the activity line showed last (kept when old frames are forgotten)."""
    finals = 0
    lines = 0
    following = True
    status_at = 0.0
    state = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, report: dict[str, Any]) -> None:
        kind = report["k"]
        with self.lock:
            if kind == "paint":
                self.paints.append((report["paint_t"], report["marks"], report["volumes"]))
                if report["volumes"]:
                    self.volume = report["volumes"][-1]
            elif kind == "arrive":
                for mark in report["marks"]:
                    self.arrivals.setdefault(mark, report["t"])
            elif kind == "shown":
                for mark in report["marks"]:
                    self.shown.setdefault(mark, report["t"])
                    if report["final"]:
                        self.shown_final.setdefault(mark, report["t"])
            elif kind == "status":
                self.finals, self.lines = report["finals"], report["lines"]
                self.following, self.status_at = report["following"], report["t"]
            elif kind == "state":
                self.state = report["state"]

    def painted(self, mark: str, *, final: bool = False) -> float | None:
        """The first frame that shows `mark` after the panel applied it (with `final`:
        after it applied the final version)."""
        with self.lock:
            shown = (self.shown_final if final else self.shown).get(mark)
            if shown is None:
                return None
            return next((t for t, m, _ in self.paints if t >= shown and mark in m), None)

    def volume_after(self, since: float, volume: int) -> float | None:
        """The first frame after `since` whose activity line shows `volume`."""
        with self.lock:
            return next((t for t, _, v in self.paints if t >= since and volume in v), None)

    def trim(self, before: float) -> None:
        """Forget frames older than `before` (a long run paints many thousands)."""
        with self.lock:
            self.paints = [p for p in self.paints if p[0] >= before]


class PanelSession:
    """The instrumented panel on a silent simulated call, and a feeder to talk through."""

    def __init__(self, stack: BenchStack, tag: str) -> None:
        self.stack = stack
        self.tag = tag
        self.reports = Reports()
        self.marks = itertools.count(1)
        self.term: Terminal | None = None
        self.feeder: Feeder | None = None
        self.panel_pid = 0
        self.call_pid = 0
        self._call: SimulatedCall | None = None
        self._call_task: asyncio.Task[None] | None = None
        self._report_thread: threading.Thread | None = None
        self._keys_lost = 0

    async def __aenter__(self) -> PanelSession:
        try:
            await self._open()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _open(self) -> None:
        server = self.stack.livekit
        conversation, room = self.stack.conversation(self.tag)
        self._call = SimulatedCall(
            server.url,
            server.api_key,
            server.api_secret,
            room,
            script_gate=asyncio.Event(),  # never opened: the call stays silent
            end_by_agent_leaving=False,
        )
        self._call_task = asyncio.create_task(self._call.run())
        await asyncio.wait_for(self._call.started.wait(), 30)
        read_fd, write_fd = os.pipe()
        argv = [
            PYTHON, "-m", "bench.panel_host",
            "--api-url", self.stack.api_url,
            "--conversation", conversation,
            "--report-fd", str(write_fd),
        ]  # fmt: skip
        self.term = Terminal(argv, self.stack.env(), pass_fds=(write_fd,), cwd=REPO_ROOT)
        os.close(write_fd)
        self._report_thread = threading.Thread(
            target=self._read_reports, args=(read_fd,), name="bench-reports", daemon=True
        )
        self._report_thread.start()
        await until(lambda: self.reports.state == "live", 60, "the panel to be LIVE")
        self.panel_pid = self.term.pid
        self.call_pid = await only_child(self.panel_pid)
        self.feeder = Feeder(
            server.url,
            server.api_key,
            server.api_secret,
            room,
            (self._call.agent_identity, self._call.caller_identity),
        )
        await self.feeder.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.term is not None:
            await self.term.close()
        if self._report_thread is not None:
            self._report_thread.join(2)
        if self.feeder is not None:
            with contextlib.suppress(Exception):
                await self.feeder.__aexit__(None, None, None)
        if self._call is not None and self._call_task is not None:
            await self._call.stop()
            await self._call_task

    def _read_reports(self, fd: int) -> None:
        with os.fdopen(fd, encoding="utf-8") as pipe:
            for line in pipe:
                self.reports.take(json.loads(line))

    # -- what the measurements do -------------------------------------------------------

    def marker(self, kind: str) -> str:
        return f"{kind}{next(self.marks):06d}Z"

    async def preload(self, total: int, timeout: float = 600.0) -> float:
        """Send finals until the panel shows `total`, then press End; returns finals per
        second fed (0 when there was nothing to send)."""
        assert self.feeder is not None
        missing = total - self.reports.finals
        rate = 0.0
        if missing > 0:
            start = time.monotonic()
            base = self.reports.finals
            await self.feeder.finals([sentence(base + n) for n in range(missing)])
            await until(lambda: self.reports.finals >= total, timeout, f"{total} finals shown")
            rate = missing / (time.monotonic() - start)
        await self.follow()
        return rate

    async def follow(self) -> None:
        """Press End, as a supervisor would, until the transcript follows new lines again.

        Needed after a burst: one that arrives while the transcript first overflows
        the screen leaves it scrolled to the top, not following (see docs/benchmarks.md)."""
        assert self.term is not None
        for _ in range(10):
            await self._status_after(self.term.type(END_KEY) + 0.3)
            if self.reports.following:
                return
        raise RuntimeError("the transcript does not follow new lines, even after End")

    async def _status_after(self, moment: float) -> None:
        await until(lambda: self.reports.status_at > moment, 10, "a status report")

    async def settle(self, seconds: float = 1.0) -> None:
        """Let the panel finish what it was doing; forget old frames."""
        await asyncio.sleep(seconds)
        self.reports.trim(time.monotonic())

    async def wait_painted(self, mark: str, timeout: float = 30.0, *, final: bool = False) -> float:
        """When the first frame showing `mark` (its final version, with `final`) was
        handed to the terminal."""
        found: list[float] = []

        def check() -> bool:
            at = self.reports.painted(mark, final=final)
            if at is not None:
                found.append(at)
            return bool(found)

        try:
            await until(check, timeout, f"{mark} on screen")
        except TimeoutError as error:
            reports = self.reports
            raise TimeoutError(
                f"{error} (reached the app: {mark in reports.arrivals}, applied: "
                f"{mark in reports.shown}, finals shown {reports.finals}, lines {reports.lines})"
            ) from None
        return found[0]

    async def key_to_screen(self, timeout: float = 5.0) -> float | None:
        """Press + or - (the volume goes 110, 120, 110, ...: never 100%, which a muted
        panel may not show); seconds until the activity line shows the new volume, or
        None if it never did."""
        assert self.term is not None
        current = self.reports.volume or 100
        key, expected = (b"+", current + 10) if current <= 110 else (b"-", current - 10)
        pressed = self.term.type(key)
        seen: list[float] = []

        def check() -> bool:
            at = self.reports.volume_after(pressed, expected)
            if at is not None:
                seen.append(at)
            return bool(seen)

        try:
            await until(check, timeout, f"volume {expected}%")
        except TimeoutError:
            self._keys_lost += 1
            if self._keys_lost >= 3:
                raise RuntimeError(
                    "three key presses in a row never showed on the activity line: "
                    "has its volume text changed? (bench.panel_host.VOLUME)"
                ) from None
            return None
        self._keys_lost = 0
        return seen[0] - pressed

    def rss(self) -> tuple[float, float]:
        """RSS of the panel process and of its call process, MiB."""
        return rss_mib(self.panel_pid), rss_mib(self.call_pid)


def gaps(low: float, high: float) -> Callable[[], float]:
    """Pauses between probes that do not beat with the panel's 60 Hz refresh."""
    steps = itertools.cycle([0.0, 0.37, 0.71, 0.13, 0.89, 0.52, 0.26, 0.64])
    return lambda: low + (high - low) * next(steps)

"""`snoop-tui tail ID`: a live call's transcript as lines on stdout, for scripts and logs.

The same hidden, subscribe-only observer as the panel, with no screen: a call
process (`CallProcess`) joins the room, and its event stream is printed, one final
segment a line (`03:12 Caller: ...`), flushed as it comes; `--json` prints JSON
lines instead and `--interim` adds the unfinished versions, marked. Time into the
call counts from the conversation's start when the platform says it, else from the
first segment. The tail ends with the call (exit 0), with the failure's exit code
(raised for the CLI to report), quietly when its reader goes away (`| head -1`),
and leaves the room on SIGINT (exit 130), SIGTERM or SIGHUP (exit 0, as Stop).
Nothing from the call reaches the terminal unmade-safe: every text printed goes
through `clean_text`, so an escape sequence in a transcript is shown, never obeyed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from snoop_tui.events import (
    CallContext,
    CallEvent,
    CallFailed,
    CallState,
    Notice,
    StateChanged,
    TranscriptUpdated,
)
from snoop_tui.link import CallLink
from snoop_tui.transcript import Role, SegmentKey, TranscriptSegment, clean_text
from snoop_tui.transcript_export import format_offset

log = logging.getLogger(__name__)

CONTEXT_WAIT = 2.0
"""Seconds the first segments wait for the call's start time before counting from them."""
INTERIM_MARK = " (interim)"
SIGNAL_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 0, signal.SIGHUP: 0}
"""Ctrl+C is an interruption (130, as everywhere in snoop-tui); TERM and HUP mean Stop."""


@dataclass
class TailFormat:
    """Turns segments into the tail's lines: each final once, interim ones if asked."""

    as_json: bool = False
    interim: bool = False
    started_at: datetime | None = None
    """The conversation's start, from the `CallContext`; counts time into the call."""
    _zero: float | None = field(default=None, init=False)
    _printed: set[SegmentKey] = field(default_factory=set, init=False)
    _interim_text: dict[SegmentKey, str] = field(default_factory=dict, init=False)

    def context(self, context: CallContext) -> None:
        if self.started_at is None:
            self.started_at = context.started_at

    def line(self, segment: TranscriptSegment) -> str | None:
        """The line to print for this version of a segment, or None."""
        if segment.key in self._printed:
            return None
        if not segment.final:
            if not self.interim or self._interim_text.get(segment.key) == segment.text:
                return None
            self._interim_text[segment.key] = segment.text
        else:
            self._printed.add(segment.key)
            self._interim_text.pop(segment.key, None)
        return self._json(segment) if self.as_json else self._text(segment)

    def _seconds(self, segment: TranscriptSegment) -> float:
        spoken = segment.spoken_at / 1000.0
        if self._zero is None:
            self._zero = self.started_at.timestamp() if self.started_at is not None else spoken
        return max(0.0, spoken - self._zero)

    def _text(self, segment: TranscriptSegment) -> str:
        mark = "" if segment.final else INTERIM_MARK
        text = clean_text(segment.text)
        return f"{format_offset(self._seconds(segment))} {_who(segment)}{mark}: {text}"

    def _json(self, segment: TranscriptSegment) -> str:
        record: dict[str, Any] = {
            "id": clean_text(segment.id),
            "speaker": clean_text(segment.speaker) or segment.role.label,
            "role": segment.role.value,
            "text": clean_text(segment.text),
            "final": segment.final,
            "seconds_into_call": round(self._seconds(segment), 3),
            "wall_time": datetime.fromtimestamp(segment.spoken_at / 1000.0, UTC).isoformat(),
        }
        return json.dumps(record, ensure_ascii=False)


END_DRAIN_SECONDS = 2.0
"""After the call ends, lines already on their way still arrive (the call's end grace)."""


def _who(segment: TranscriptSegment) -> str:
    if segment.role is Role.OTHER:
        return clean_text(segment.speaker).strip() or Role.OTHER.label
    return segment.role.label


@dataclass(frozen=True)
class _Signalled:
    signum: signal.Signals


class _PipeClosed(Exception):
    """Whoever reads our output has gone away (`| head -1`)."""


class Tail:
    """Follows one call, printing its transcript until the call ends."""

    def __init__(
        self,
        call: CallLink,
        formatter: TailFormat,
        out: TextIO,
        err: TextIO,
        *,
        context_wait: float = CONTEXT_WAIT,
    ) -> None:
        self._call = call
        self._format = formatter
        self._out = out
        self._err = err
        self._context_wait = context_wait
        self._queue: asyncio.Queue[CallEvent | _Signalled] = asyncio.Queue()
        self._waiting_for_context = True
        self._held: list[TranscriptSegment] = []
        self.pipe_closed = False

    async def run(self) -> int:
        """Follow the call to its end; return the exit code (a failure is raised)."""
        loop = asyncio.get_running_loop()
        for signum in SIGNAL_EXIT:
            loop.add_signal_handler(signum, self._queue.put_nowait, _Signalled(signum))
        try:
            await self._call.start(self._queue.put_nowait)
            return await self._follow()
        except _PipeClosed:
            self.pipe_closed = True
            return 0
        finally:
            for signum in SIGNAL_EXIT:
                loop.remove_signal_handler(signum)
            await self._call.stop()

    async def _follow(self) -> int:
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        ended: str | None = None
        while True:
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                item = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                self._release()  # no start time in time: count from the first segment
                if ended is not None:  # the last words have had their time
                    if ended:
                        self._say(ended)
                    return 0
                deadline = None
                continue
            if isinstance(item, _Signalled):
                return SIGNAL_EXIT[item.signum]
            if isinstance(item, CallFailed):
                raise item.error
            if isinstance(item, CallContext):
                self._format.context(item)
                self._release()
                deadline = None
            elif isinstance(item, TranscriptUpdated):
                if self._waiting_for_context:
                    if not self._held:
                        deadline = loop.time() + self._context_wait
                    self._held.append(item.segment)
                else:
                    self._print(item.segment)
            elif isinstance(item, Notice):
                self._say(item.text)
            elif isinstance(item, StateChanged) and item.state in (
                CallState.ENDED,
                CallState.LEFT,
            ):
                if ended is None:  # lines still in flight when it ended are printed too
                    ended = item.reason or ""
                    deadline = loop.time() + END_DRAIN_SECONDS

    def _release(self) -> None:
        """Stop waiting for the call's start; print what waited for it."""
        self._waiting_for_context = False
        held, self._held = self._held, []
        for segment in held:
            self._print(segment)

    def _print(self, segment: TranscriptSegment) -> None:
        line = self._format.line(segment)
        if line is None:
            return
        try:
            self._out.write(line + "\n")
            self._out.flush()
        except BrokenPipeError:
            _silence(self._out)
            raise _PipeClosed() from None

    def _say(self, text: str) -> None:
        """A line for the person, on stderr (never a line of the transcript)."""
        with contextlib.suppress(OSError):
            self._err.write(f"snoop-tui: {clean_text(text)}\n")
            self._err.flush()


def _silence(stream: TextIO) -> None:
    """Point a closed stream's descriptor at /dev/null, so the exit's flush stays quiet."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def follow_call(
    call_factory: Callable[[], CallLink],
    *,
    out: TextIO,
    err: TextIO,
    as_json: bool = False,
    interim: bool = False,
) -> int:
    """Run a tail to the end of the call on a new event loop (the CLI's entry point)."""

    async def run() -> int:
        tail = Tail(call_factory(), TailFormat(as_json=as_json, interim=interim), out, err)
        return await tail.run()

    return asyncio.run(run())

"""A call process: one listener session, driven over pipes by the UI process.

Run as `python -m snoop_tui.call_process --commands-fd N --events-fd M --parent PID`.
It never imports Textual, and nothing it loads (LiveKit's native core, PortAudio)
shares a process with the terminal: if one of them crashes, only this process dies
and the panel rejoins with a new one. It leaves its room and exits when told to stop,
when its command pipe closes, or when its parent dies (parent-death signal).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import logging
import os
import signal
from collections.abc import Sequence
from typing import Any

from snoop_tui.commands import (
    ChangeVolume,
    Command,
    CycleFocus,
    Listen,
    Mute,
    StartCall,
    Stop,
    WatchHealth,
)
from snoop_tui.errors import SnoopError
from snoop_tui.events import CallEvent, SpeakersChanged, TranscriptUpdated
from snoop_tui.forked import run_then_exit
from snoop_tui.lifeline import die_with_parent
from snoop_tui.local_call import InProcessCall
from snoop_tui.logs import configure_logging
from snoop_tui.protocol import MAX_LINE_BYTES, ProtocolError, decode_command, encode

log = logging.getLogger(__name__)

LEAVE_SECONDS = 1.5
"""Leaving the room gets this long; the parent waits 2 s in all before it kills us."""
BACKLOG_BYTES = 1 << 20
"""Past this much unread output, "latest state" events are dropped, never finals."""


class EventPipe:
    """Writes events to the UI process without ever blocking the call's loop."""

    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self._transport = transport
        self.dropped = 0

    def send(self, event: CallEvent) -> None:
        if self._transport.is_closing():
            return
        if self._transport.get_write_buffer_size() > BACKLOG_BYTES and _replaceable(event):
            self.dropped += 1
            return
        self._transport.write(encode(event))

    def close(self) -> None:
        self._transport.close()


def _replaceable(event: CallEvent) -> bool:
    """An event a later one makes stale: interim text, who is speaking."""
    if isinstance(event, TranscriptUpdated):
        return not event.segment.final
    return isinstance(event, SpeakersChanged)


async def _commands(reader: asyncio.StreamReader) -> asyncio.Queue[Command | None]:
    """Decoded commands, then None when the pipe closes; bad lines are logged and skipped."""
    queue: asyncio.Queue[Command | None] = asyncio.Queue()

    async def read() -> None:
        while True:
            try:
                line = await reader.readline()
            except (ValueError, asyncio.LimitOverrunError):
                log.error("a command line over %d bytes was skipped", MAX_LINE_BYTES)
                continue
            if not line:
                break
            try:
                queue.put_nowait(decode_command(line))
            except ProtocolError as error:
                log.error("skipped a command the call process does not understand: %s", error)
        queue.put_nowait(None)

    asyncio.get_running_loop().create_task(read())
    return queue


async def _open_pipes(commands_fd: int, events_fd: int) -> tuple[asyncio.StreamReader, EventPipe]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2 * MAX_LINE_BYTES)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(commands_fd, "rb", buffering=0)
    )
    transport, _ = await loop.connect_write_pipe(
        asyncio.Protocol, os.fdopen(events_fd, "wb", buffering=0)
    )
    return reader, EventPipe(transport)


async def serve(commands_fd: int, events_fd: int) -> int:
    """Join the call the first command names; obey the rest until told to stop."""
    reader, events = await _open_pipes(commands_fd, events_fd)
    commands = await _commands(reader)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    first = await commands.get()
    if not isinstance(first, StartCall):
        log.error("the first command was not a start command: %r", first)
        return 2
    call = InProcessCall(
        first.settings,
        first.conversation_id,
        allow_insecure_ws=first.allow_insecure_ws,
        status_interval=first.status_interval,
    )
    starting = loop.create_task(call.start(events.send))
    obeying = loop.create_task(_obey(call, commands))
    told = loop.create_task(done.wait())
    pending: set[asyncio.Task[Any]] = {starting, obeying, told}
    while not (obeying.done() or told.done()):  # until Stop, a closed pipe or a signal...
        _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if starting.done() and starting.exception() is not None:
            break  # ...or a bug while joining
    code = 0
    for part in (starting, obeying):
        if part.done() and not part.cancelled() and part.exception() is not None:
            log.error("the call process failed", exc_info=part.exception())
            code = 1  # the UI process sees a crash and starts a new call process
    obeying.cancel()
    told.cancel()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(call.stop(), LEAVE_SECONDS)
    starting.cancel()
    events.close()
    return code


async def _obey(call: InProcessCall, commands: asyncio.Queue[Command | None]) -> None:
    """Carry out commands until Stop, or until the UI process closes the pipe."""
    while (command := await commands.get()) is not None:
        if isinstance(command, Listen):
            await call.listen()
        elif isinstance(command, Mute):
            await call.mute()
        elif isinstance(command, CycleFocus):
            await call.cycle_focus()
        elif isinstance(command, ChangeVolume):
            await call.change_volume(command.steps)
        elif isinstance(command, WatchHealth):
            await call.watch_health(command.on)
        elif isinstance(command, Stop):
            break
        else:
            log.error("a second start command was ignored")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snoop-tui call process")
    parser.add_argument("--commands-fd", type=int, required=True)
    parser.add_argument("--events-fd", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--log-file")
    return parser


def one_numeric_thread() -> None:
    """Keep numpy's BLAS from starting a thread per core when it loads.

    Those threads spin for about 30 ms of CPU as LiveKit's SDK is imported (numpy
    comes with it), on the core the panel is using to draw itself; the call process
    does no linear algebra for them to help with. Called before anything imports
    numpy; a value the supervisor set is kept."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: Sequence[str] | None = None) -> int:
    one_numeric_thread()
    args = _parser().parse_args(argv)
    if not die_with_parent(args.parent):
        return 0  # the UI process is already gone: nothing to do
    logging.getLogger().addHandler(logging.NullHandler())
    logging.captureWarnings(True)
    try:
        if args.log_file:
            configure_logging(args.log_file)
    except SnoopError:
        pass  # the UI process reports an unusable log file itself
    faulthandler.enable()  # a native crash leaves its stack in the log (our stderr)
    try:
        return asyncio.run(serve(args.commands_fd, args.events_fd))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    run_then_exit(main)  # as a forked call process ends: none of LiveKit's exit handlers

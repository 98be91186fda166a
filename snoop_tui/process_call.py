"""A call run in its own process: the `CallLink` the panel uses.

The UI process spawns one call process per watched call (`snoop_tui.call_process`),
sends it commands and reads its events over two pipes. It never loads LiveKit or
PortAudio itself, so a crash in either takes down only the call process: the link
then says so on the panel, starts a new call process (which asks for a fresh
token and rejoins), resumes the audio if it was on, and keeps the transcript. After
`max_crashes` crashes within `crash_window` seconds it stops trying and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from subprocess import DEVNULL

from snoop_tui import forked
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
from snoop_tui.events import (
    AudioChanged,
    CallEvent,
    CallFailed,
    CallState,
    Health,
    Notice,
    StateChanged,
)
from snoop_tui.link import EventSink
from snoop_tui.protocol import MAX_LINE_BYTES, ProtocolError, decode_event, encode
from snoop_tui.settings import Settings

log = logging.getLogger(__name__)

CALL_PROCESS = (sys.executable, "-m", "snoop_tui.call_process")
STOP_SECONDS = 2.0
"""A call process gets this long to leave its room before it is killed."""
CRASHED = "The call connection crashed; rejoining…"


def gave_up(crashes: int, window: float) -> str:
    return (
        f"The call connection crashed {crashes} times in {window:g} s; not rejoining again. "
        "See --log-file for details."
    )


def _call_process_main(argv: list[str]) -> int:
    """The call process, in a child forked from the panel's process."""
    from snoop_tui import call_process

    return call_process.main(argv)


class CallProcess:
    """A `CallLink` whose session runs in a child process, restarted when it crashes."""

    def __init__(
        self,
        settings: Settings,
        conversation_id: str,
        *,
        allow_insecure_ws: bool = False,
        status_interval: float = 5.0,
        log_file: str | None = None,
        program: Sequence[str] = CALL_PROCESS,
        max_crashes: int = 3,
        crash_window: float = 60.0,
    ) -> None:
        self._start = StartCall(conversation_id, settings, allow_insecure_ws, status_interval)
        self._log_file = log_file
        self._program = tuple(program)
        self._max_crashes = max_crashes
        self._crash_window = crash_window
        self._crashes: list[float] = []
        self._on_event: EventSink | None = None
        self._process: subprocess.Popen[bytes] | forked.ForkedChild | None = None
        self._launched: tuple[int, int] | None = None
        """The pipes of a call process started but not yet read by the loop."""
        self._commands: asyncio.WriteTransport | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stopping = False
        self._joined = False
        """Whether any call process has reached LIVE (a later failure is a lost call)."""
        self._rejoining = False
        self._want_audio = False
        self._want_health = False
        self.spawned = 0
        """How many call processes were started (tests and the soak bench read it)."""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # CallLink ----------------------------------------------------------------

    def launch(self, *, fork: bool = False) -> None:
        """Start the call process now, before any event loop runs.

        The panel calls this before it loads Textual, so the call process imports
        LiveKit, asks for the token and joins while the panel draws itself. With
        `fork`, the call process is forked from this one, which has already loaded
        much of what it needs, rather than started as a new interpreter: only while
        this process runs a single thread (before Textual), else it is started anew."""
        if self._launched is None:
            self._launched = self._spawn_process(fork=fork and self._program == CALL_PROCESS)

    async def start(self, on_event: EventSink) -> None:
        self._on_event = on_event
        self.launch()
        await self._attach()

    async def listen(self) -> None:
        self._want_audio = True
        self._send(Listen())

    async def mute(self) -> None:
        self._want_audio = False
        self._send(Mute())

    async def cycle_focus(self) -> None:
        self._send(CycleFocus())

    async def change_volume(self, steps: int) -> None:
        self._send(ChangeVolume(steps))

    async def watch_health(self, on: bool) -> None:
        self._want_health = on
        self._send(WatchHealth(on))

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        self._send(Stop())
        if self._commands is None and self._launched is not None:
            os.write(self._launched[1], encode(Stop()))  # launched, never attached
        process = self._process
        if process is not None and process.poll() is None:
            try:
                await asyncio.to_thread(process.wait, STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("call process %d did not leave in time; killing it", process.pid)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await asyncio.to_thread(process.wait)
        if self._launched is not None:  # pipes never handed to the loop
            for fd in self._launched:
                os.close(fd)
            self._launched = None
        if self._reader is not None:
            self._reader.cancel()
        if self._commands is not None:
            self._commands.close()

    # the child ---------------------------------------------------------------

    def _spawn_process(self, *, fork: bool = False) -> tuple[int, int]:
        """Start a call process and send it the start command; return (events, commands) fds."""
        commands_read, commands_write = os.pipe()
        events_read, events_write = os.pipe()
        output = DEVNULL
        if self._log_file:
            output = os.open(self._log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            argv = [
                "--commands-fd", str(commands_read),
                "--events-fd", str(events_write),
                "--parent", str(os.getpid()),
            ]  # fmt: skip
            if self._log_file:
                argv += ["--log-file", self._log_file]
            if fork and forked.can_fork():
                self._process = forked.fork_child(
                    functools.partial(_call_process_main, argv),
                    output=output,
                    close=(commands_write, events_read),
                )
            else:
                self._process = subprocess.Popen(
                    [*self._program, *argv],
                    pass_fds=(commands_read, events_write),
                    stdin=DEVNULL,
                    stdout=output,
                    stderr=output,
                )
        finally:
            os.close(commands_read)
            os.close(events_write)
            if output != DEVNULL:
                os.close(output)
        self.spawned += 1
        os.write(commands_write, encode(self._start))
        return events_read, commands_write

    async def _attach(self) -> None:
        """Hand the launched process's pipes to the running loop and read its events."""
        assert self._launched is not None and self._process is not None
        events_read, commands_write = self._launched
        self._launched = None
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=2 * MAX_LINE_BYTES)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(events_read, "rb", 0)
        )
        self._commands, _ = await loop.connect_write_pipe(
            asyncio.Protocol, os.fdopen(commands_write, "wb", 0)
        )
        self._reader = loop.create_task(self._read(self._process, reader))

    def _send(self, command: Command) -> None:
        if self._commands is not None and not self._commands.is_closing():
            self._commands.write(encode(command))

    async def _read(
        self, process: subprocess.Popen[bytes] | forked.ForkedChild, reader: asyncio.StreamReader
    ) -> None:
        failed = False
        while True:
            try:
                line = await reader.readline()
            except (ValueError, asyncio.LimitOverrunError):
                log.error(
                    "skipped an event line over %d bytes from the call process", MAX_LINE_BYTES
                )
                continue
            if not line:
                break
            try:
                event = decode_event(line)
            except ProtocolError as error:
                log.error("skipped an event the panel does not understand: %s", error)
                continue
            failed = failed or isinstance(event, CallFailed)
            self._deliver(event)
        code = await asyncio.to_thread(process.wait)  # the pipe closed: it has exited
        if not self._stopping and not failed:
            await self._crashed(code)

    def _deliver(self, event: CallEvent) -> None:
        if isinstance(event, StateChanged):
            if event.state is CallState.CONNECTING and self._rejoining:
                event = StateChanged(CallState.RECONNECTING)
            elif event.state is CallState.LIVE:
                self._rejoining, self._joined = False, True
                if self.spawned > 1:  # a replacement: pick up where the last one was
                    if self._want_audio:
                        self._send(Listen())
                    if self._want_health:
                        self._send(WatchHealth(True))
        elif isinstance(event, CallFailed) and self._joined:
            event = StateChanged(CallState.ENDED, event.error.message)  # keep the transcript
        elif isinstance(event, Health):  # this process's reconnects, and the restarts
            event = replace(event, reconnects=event.reconnects + self.spawned - 1)
        elif isinstance(event, AudioChanged) and event.message:
            self._want_audio = False  # the device failed: Listen again is the user's call
        self._emit(event)

    async def _crashed(self, code: int) -> None:
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        log.error("call process %s ended unexpectedly (%s)", self.pid, how)
        now = time.monotonic()
        self._crashes = [t for t in self._crashes if now - t < self._crash_window] + [now]
        if len(self._crashes) >= self._max_crashes:
            self._emit(
                StateChanged(CallState.ENDED, gave_up(self._max_crashes, self._crash_window))
            )
            return
        self._rejoining = True
        self._emit(Notice(CRASHED))
        self._emit(StateChanged(CallState.RECONNECTING))
        if self._commands is not None:
            self._commands.close()
        self.launch()
        await self._attach()

    def _emit(self, event: CallEvent) -> None:
        if not self._stopping and self._on_event is not None:
            self._on_event(event)

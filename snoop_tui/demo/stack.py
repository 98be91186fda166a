"""The whole local stack behind `snoop-tui demo`: livekit-server, platform API and calls.

Every part runs as its own process on 127.0.0.1, logs to files in a temp dir (the
terminal belongs to the TUI), and is stopped by its own pid, in reverse start order.
Each simulated call is a real call: its own conversation on the platform API, its own
LiveKit room, agent and caller, tones and transcript. `board_calls()` is the demo's
call board: several agents, a call ringing then answered, one ending, one arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.util import find_spec
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from snoop_tui.board_model import NO_AUDIO_CHANNELS
from snoop_tui.demo.livekit_server import (
    SECRET_ENV,
    STARTER_ENV,
    LocalLiveKitServer,
    demo_tempdir,
    last_words,
)
from snoop_tui.errors import ConfigError
from snoop_tui.lifeline import die_with_starter

log = logging.getLogger(__name__)

DEMO_CONVERSATION_ID = "conv_demo"
DEMO_CREDENTIAL = "ak_demo_sensitive"
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
"""Seconds the stack waits for its processes to end, all together, before SIGKILL."""


class StackError(RuntimeError):
    """A part of the local stack did not start."""


def require_demo_extra() -> None:
    """The demo's servers need the `demo` extra, which a plain `pip install` leaves out."""
    missing = [name for name in ("aiohttp", "livekit.api") if find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"The demo needs packages that are not installed ({', '.join(missing)}). "
            "Install them with: pip install 'snoop-tui[demo]'"
        )


class ManagedProcess:
    """A child process whose output goes to a log file and that is stopped by its pid.

    It gets SIGTERM when the process that started it dies, however it dies (SIGKILL
    included), and is told that process's pid to check for itself (`STARTER_ENV`)."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self._process = subprocess.Popen(
                argv,
                env={**os.environ, **(env or {}), STARTER_ENV: str(os.getpid())},
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal is ours to pass on
                preexec_fn=die_with_starter(),
            )

    @property
    def pid(self) -> int:
        return self._process.pid

    def poll(self) -> int | None:
        return self._process.poll()

    def check_alive(self) -> None:
        code = self._process.poll()
        if code is not None:
            raise StackError(f"{self.name} exited with code {code}: {last_words(self.log_path)}")

    def terminate(self) -> None:
        """Ask it to end (SIGTERM) without waiting, so several can end side by side."""
        with contextlib.suppress(ProcessLookupError):
            self._process.send_signal(signal.SIGTERM)  # does nothing once it has exited

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, wait, then SIGKILL: always this process and nothing else."""
        if self._process.poll() is not None:
            return
        self.terminate()
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=STOP_TIMEOUT)


PLATFORM_API_MODULE = "snoop_tui.demo.platform_api"


def spawn_platform_api(
    livekit: LocalLiveKitServer,
    workdir: Path,
    *,
    module: str = PLATFORM_API_MODULE,
    cwd: Path | None = None,
) -> tuple[ManagedProcess, Path]:
    """Start the platform API subprocess; returns it and the file its port will appear in.

    `module` (run from `cwd`) may be another server with the same flags, such as the
    tests' platform API that also serves faults."""
    port_file = workdir / "platform-api.port"
    port_file.unlink(missing_ok=True)
    argv = [
        sys.executable,
        "-m",
        module,
        "--livekit-url",
        livekit.url,
        "--api-key",
        livekit.api_key,
        "--port-file",
        str(port_file),
    ]
    log = workdir / "platform-api.log"
    process = ManagedProcess("platform API", argv, log, _secret_env(livekit), cwd)
    return process, port_file


def _read_port(port_file: Path) -> int | None:
    try:
        return int(port_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def wait_for_port_file(process: ManagedProcess, port_file: Path) -> str:
    """Block until the platform API wrote its port; returns its base URL."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        process.check_alive()
        port = _read_port(port_file)
        if port is not None:
            return f"http://127.0.0.1:{port}"
        time.sleep(0.02)
    raise StackError(f"The platform API did not start: {last_words(process.log_path)}")


async def wait_for_port_file_async(process: ManagedProcess, port_file: Path) -> str:
    """As wait_for_port_file, without blocking the event loop."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        process.check_alive()
        port = _read_port(port_file)
        if port is not None:
            return f"http://127.0.0.1:{port}"
        await asyncio.sleep(0.02)
    raise StackError(f"The platform API did not start: {last_words(process.log_path)}")


LISTENER_GRACE = 15.0
"""The demo's call waits this long at most for the panel to join before it talks."""


def spawn_call(
    livekit: LocalLiveKitServer,
    room_name: str,
    workdir: Path,
    *,
    loops: int | None = 3,
    words_per_second: float = 4.0,
    wait_for_listener: float = 0.0,
    extra_args: Sequence[str] = (),
    log_name: str = "call.log",
) -> ManagedProcess:
    """Start a simulated call subprocess in `room_name`, logging to `workdir/log_name`.

    With `wait_for_listener`, it starts talking once a hidden listener has joined
    (or after that many seconds)."""
    argv = [
        sys.executable,
        "-m",
        "snoop_tui.demo.call",
        "--url",
        livekit.url,
        "--api-key",
        livekit.api_key,
        "--room",
        room_name,
        "--wps",
        str(words_per_second),
    ]
    argv += ["--forever"] if loops is None else ["--loops", str(loops)]
    if wait_for_listener > 0:
        argv += ["--wait-for-listener", str(wait_for_listener)]
    argv += extra_args
    return ManagedProcess("simulated call", argv, workdir / log_name, _secret_env(livekit))


def _secret_env(livekit: LocalLiveKitServer) -> dict[str, str]:
    """The API secret goes to children by environment: argv is visible to every user in ps."""
    return {SECRET_ENV: livekit.api_secret}


@dataclass(frozen=True)
class DemoCall:
    """One simulated call: its conversation on the platform API and its LiveKit room."""

    conversation_id: str
    agent_name: str
    agent_id: str
    caller: str
    """The caller as the platform lists it (`user_id`): a phone number, or an address."""
    agent_number: str
    script: str = "billing"
    """A script of `snoop_tui.demo.call.SCRIPTS`."""
    tones: tuple[float, float] = (440.0, 660.0)
    """The agent's and the caller's tone, in Hz."""
    channel: str = "telephone"
    direction: str = "inbound"
    started_ago: float = 0.0
    """Seconds the call had been going when the stack started (its `created_at`)."""
    arrive_after: float = 0.0
    """Seconds after the stack started that the call arrives (triggered, then talking)."""
    answer_after: float = 0.0
    """Seconds it rings (status `ringing`, nobody talking) before it is answered."""
    end_after: float | None = None
    """Seconds after joining that the agent leaves; the conversation is then completed."""
    loops: int | None = None
    """Times through the script before the agent leaves; None talks until stopped."""
    wait_for_listener: float = 0.0
    """Hold the first word until a hidden listener joins (or this many seconds)."""

    @property
    def room_name(self) -> str:
        return f"call-{self.conversation_id}"

    @property
    def has_audio(self) -> bool:
        return self.channel not in NO_AUDIO_CHANNELS


def panel_call(conversation_id: str = DEMO_CONVERSATION_ID, loops: int | None = 3) -> DemoCall:
    """The call `snoop-tui demo` opens its panel on: it waits for the panel to join."""
    return DemoCall(
        conversation_id,
        "Billing Assistant",
        "agent_demo",
        "+15550100",
        "+15550199",
        loops=loops,
        wait_for_listener=LISTENER_GRACE,
    )


@dataclass(frozen=True)
class DemoTimings:
    """When things happen on the demo's call board, in seconds from the stack's start."""

    answer_after: float = 10.0
    """The ringing call (Tech Support) is answered and starts talking."""
    end_after: float = 120.0
    """The ending call's agent (Retention Desk) leaves; it is completed."""
    arrive_after: float = 30.0
    """A new call (Scheduling Assistant) arrives."""


def board_calls(
    timings: DemoTimings | None = None, *, first_waits_for_listener: bool = False
) -> tuple[DemoCall, ...]:
    """The demo's live call board: four calls with their own agents, callers, numbers,
    tones and scripts, plus an email conversation (listed, but with no audio). The first
    is `conv_demo`; with `first_waits_for_listener` it holds its first word for a panel."""
    t = timings or DemoTimings()
    return (
        DemoCall(
            DEMO_CONVERSATION_ID,
            "Billing Assistant",
            "agent_billing",
            "+14155550100",
            "+18005550199",
            started_ago=130.0,
            wait_for_listener=LISTENER_GRACE if first_waits_for_listener else 0.0,
        ),
        DemoCall(
            "conv_demo_tech",
            "Tech Support",
            "agent_tech",
            "+12125550142",
            "+18005550123",
            script="tech",
            tones=(392.0, 587.0),
            answer_after=t.answer_after,
        ),
        DemoCall(
            "conv_demo_retention",
            "Retention Desk",
            "agent_retention",
            "+13125550177",
            "+18005550188",
            script="retention",
            tones=(494.0, 740.0),
            direction="outbound",
            started_ago=275.0,
            end_after=t.end_after,
        ),
        DemoCall(
            "conv_demo_scheduling",
            "Scheduling Assistant",
            "agent_scheduling",
            "+16175550133",
            "+18005550145",
            script="scheduling",
            tones=(349.0, 523.0),
            arrive_after=t.arrive_after,
        ),
        DemoCall(
            "conv_demo_email",
            "Billing Assistant",
            "agent_billing",
            "dana.whitfield@example.com",
            "billing@northwind.example",
            channel="email",
            started_ago=840.0,
        ),
    )


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LocalStack:
    """livekit-server + platform API + simulated calls, as `snoop-tui demo` needs them.

    `calls` defaults to the one call the panel opens (`panel_call`); `board_calls()`
    gives the demo's call board. `conversation_id` is the first call's."""

    def __init__(
        self,
        *,
        conversation_id: str = DEMO_CONVERSATION_ID,
        loops: int | None = 3,
        words_per_second: float = 4.0,
        calls: Sequence[DemoCall] | None = None,
    ) -> None:
        self.calls = tuple(calls) if calls else (panel_call(conversation_id, loops),)
        self.conversation_id = self.calls[0].conversation_id
        self.room_name = self.calls[0].room_name
        self.credential = DEMO_CREDENTIAL
        self.api_url = ""
        self.livekit = LocalLiveKitServer()
        self._words_per_second = words_per_second
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._processes: list[ManagedProcess] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def log_dir(self) -> Path:
        if self._tmp is None:
            raise StackError("The local stack is not running.")
        return Path(self._tmp.name)

    @property
    def pids(self) -> list[int]:
        """Every process this stack started, livekit-server first."""
        return [self.livekit.pid] + [p.pid for p in self._processes]

    async def __aenter__(self) -> LocalStack:
        require_demo_extra()
        self._tmp = demo_tempdir("snoop-demo-")
        try:
            await self._start()
        except BaseException:
            self.close()
            raise
        return self

    async def _start(self) -> None:
        self.livekit.start()
        api, port_file = spawn_platform_api(self.livekit, self.log_dir)
        self._processes.append(api)
        self.api_url = await wait_for_port_file_async(api, port_file)
        now = datetime.now(UTC)
        present = [call for call in self.calls if call.arrive_after <= 0]
        started: list[tuple[DemoCall, ManagedProcess | None]] = []
        for call in present:  # every call starts at once; then each is waited for
            created = now - timedelta(seconds=call.started_ago)
            status = "ringing" if call.answer_after > 0 else "in_progress"
            await self._put(call, status, created)
            started.append((call, self._spawn(call)))
        for call, process in started:
            if process is not None:
                await self._wait_for_log_line(process, "call running")
                self._tasks.append(asyncio.create_task(self._follow(call, process)))
        for call in self.calls:
            if call.arrive_after > 0:
                self._tasks.append(asyncio.create_task(self._arrive(call)))

    async def _put(self, call: DemoCall, status: str, created: datetime) -> None:
        await self._local_request(
            "PUT",
            call.conversation_id,
            status=status,
            room_name=call.room_name if call.has_audio else None,
            agent_id=call.agent_id,
            agent_name=call.agent_name,
            agent_number=call.agent_number,
            user_id=call.caller,
            channel=call.channel,
            direction=call.direction,
            created_at=_timestamp(created),
            updated_at=_timestamp(datetime.now(UTC)),
        )

    def _spawn(self, call: DemoCall) -> ManagedProcess | None:
        if not call.has_audio:
            return None
        agent_hz, caller_hz = call.tones
        extra = ["--script", call.script, "--agent-name", call.agent_name]
        extra += ["--caller-identity", f"sip_{call.caller}"]
        extra += ["--agent-hz", str(agent_hz), "--caller-hz", str(caller_hz)]
        if call.answer_after > 0:
            extra += ["--start-after", str(call.answer_after)]
        if call.end_after is not None:
            extra += ["--end-after", str(call.end_after)]
        process = spawn_call(
            self.livekit,
            call.room_name,
            self.log_dir,
            loops=call.loops,
            words_per_second=self._words_per_second,
            wait_for_listener=call.wait_for_listener,
            extra_args=extra,
            log_name=f"call-{call.conversation_id}.log",
        )
        self._processes.append(process)
        return process

    async def _arrive(self, call: DemoCall) -> None:
        """A call that comes in while the board is open: triggered, then talking."""
        try:
            await asyncio.sleep(call.arrive_after)
            await self._put(call, "triggered", datetime.now(UTC))
            process = self._spawn(call)
            if process is None:
                await self._local_request("PATCH", call.conversation_id, status="in_progress")
                return
            await self._wait_for_log_line(process, "call running")
            await self._local_request("PATCH", call.conversation_id, status="in_progress")
        except (StackError, httpx.HTTPError) as error:
            log.warning("demo call %s did not arrive: %s", call.conversation_id, error)
            return
        await self._follow(call, process)

    async def _follow(self, call: DemoCall, process: ManagedProcess) -> None:
        """Keep the conversation's status true: in progress once the ringing call talks,
        completed once its process ends (the agent left)."""
        ringing = call.answer_after > 0
        try:
            while process.poll() is None:
                if ringing and "call talking" in process.log_path.read_text(errors="replace"):
                    await self._local_request("PATCH", call.conversation_id, status="in_progress")
                    ringing = False
                await asyncio.sleep(0.1 if ringing else 0.25)
            await self._local_request("PATCH", call.conversation_id, status="completed")
        except (OSError, httpx.HTTPError) as error:
            log.warning("demo call %s: %s", call.conversation_id, error)

    async def _local_request(self, method: str, conversation_id: str, **fields: Any) -> None:
        url = f"{self.api_url}/_local/conversations/{conversation_id}"
        async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
            response = await client.request(method, url, json=fields)
            response.raise_for_status()

    async def _wait_for_log_line(
        self, process: ManagedProcess, text: str, timeout: float = STARTUP_TIMEOUT
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process.check_alive()
            if text in process.log_path.read_text(errors="replace"):
                return
            await asyncio.sleep(0.05)
        raise StackError(f"The {process.name} did not start: {last_words(process.log_path)}")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
        try:
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=1.0)
        finally:  # a second cancellation (a signal) must not skip the stopping
            self.close()

    def close(self) -> None:
        """Stop every process this stack started, all told at once, then waited for newest
        first; safe to call twice."""
        for task in self._tasks:
            if not task.done():
                task.cancel()
        for process in self._processes:
            process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT  # one wait for all, not one each
        while self._processes:
            self._processes.pop().stop(max(0.1, deadline - time.monotonic()))
        self.livekit.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

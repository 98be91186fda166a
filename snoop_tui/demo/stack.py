"""The whole local stack behind `snoop-tui demo`: livekit-server, platform API and a call.

Every part runs as its own process on 127.0.0.1, logs to files in a temp dir (the
terminal belongs to the TUI), and is stopped by its own pid, in reverse start order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from snoop_tui.demo.livekit_server import SECRET_ENV, LocalLiveKitServer
from snoop_tui.errors import ConfigError

DEMO_CONVERSATION_ID = "conv_demo"
DEMO_CREDENTIAL = "ak_demo_sensitive"
STARTUP_TIMEOUT = 20.0


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
    """A child process whose output goes to a log file and that is stopped by its pid."""

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
                env={**os.environ, **(env or {})},
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal is ours to pass on
            )

    @property
    def pid(self) -> int:
        return self._process.pid

    def poll(self) -> int | None:
        return self._process.poll()

    def check_alive(self) -> None:
        code = self._process.poll()
        if code is not None:
            raise StackError(f"{self.name} exited with code {code}; see {self.log_path}")

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, wait, then SIGKILL: always this process and nothing else."""
        if self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=timeout)


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
    raise StackError(f"The platform API did not start; see {process.log_path}")


async def wait_for_port_file_async(process: ManagedProcess, port_file: Path) -> str:
    """As wait_for_port_file, without blocking the event loop."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        process.check_alive()
        port = _read_port(port_file)
        if port is not None:
            return f"http://127.0.0.1:{port}"
        await asyncio.sleep(0.02)
    raise StackError(f"The platform API did not start; see {process.log_path}")


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
) -> ManagedProcess:
    """Start a simulated call subprocess in `room_name`.

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
    return ManagedProcess("simulated call", argv, workdir / "call.log", _secret_env(livekit))


def _secret_env(livekit: LocalLiveKitServer) -> dict[str, str]:
    """The API secret goes to children by environment: argv is visible to every user in ps."""
    return {SECRET_ENV: livekit.api_secret}


class LocalStack:
    """livekit-server + platform API + one simulated call, as `snoop-tui demo` needs them."""

    def __init__(
        self,
        *,
        conversation_id: str = DEMO_CONVERSATION_ID,
        loops: int | None = 3,
        words_per_second: float = 4.0,
    ) -> None:
        self.conversation_id = conversation_id
        self.room_name = f"call-{conversation_id}"
        self.credential = DEMO_CREDENTIAL
        self.api_url = ""
        self.livekit = LocalLiveKitServer()
        self._loops = loops
        self._words_per_second = words_per_second
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._processes: list[ManagedProcess] = []
        self._watcher: asyncio.Task[None] | None = None

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
        self._tmp = tempfile.TemporaryDirectory(prefix="snoop-demo-")
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
        await self._local_request(
            "PUT",
            status="in_progress",
            room_name=self.room_name,
            agent_name="Billing Assistant",
            user_id="+15550100",
        )
        call = spawn_call(
            self.livekit,
            self.room_name,
            self.log_dir,
            loops=self._loops,
            words_per_second=self._words_per_second,
            wait_for_listener=LISTENER_GRACE,
        )
        self._processes.append(call)
        await self._wait_for_log_line(call, "call running")
        self._watcher = asyncio.create_task(self._complete_when_call_ends(call))

    async def _local_request(self, method: str, **fields: Any) -> None:
        url = f"{self.api_url}/_local/conversations/{self.conversation_id}"
        async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
            response = await client.request(method, url, json=fields)
            response.raise_for_status()

    async def _wait_for_log_line(self, process: ManagedProcess, text: str) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            process.check_alive()
            if text in process.log_path.read_text(errors="replace"):
                return
            await asyncio.sleep(0.05)
        raise StackError(f"The {process.name} did not start; see {process.log_path}")

    async def _complete_when_call_ends(self, call: ManagedProcess) -> None:
        """When the call is over the platform marks the conversation completed."""
        while call.poll() is None:
            await asyncio.sleep(0.25)
        with contextlib.suppress(httpx.HTTPError):
            await self._local_request("PATCH", status="completed")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.wait([self._watcher], timeout=1.0)
        self.close()

    def close(self) -> None:
        """Stop every process this stack started, newest first; safe to call twice."""
        if self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()
        while self._processes:
            self._processes.pop().stop()
        self.livekit.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

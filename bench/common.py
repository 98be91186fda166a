"""What every measurement of `python -m bench` shares: the stack, processes, statistics.

- `BenchStack`: a real livekit-server and the local platform API (in this process's
  loop), with a conversation and room per measurement; `talking_call`, the demo's
  simulated call in a process of its own.
- `/proc` readers: CPU seconds (utime + stime) and RSS of a process, its children.
- `BareSubscriber`: the floor (`bench.bare_subscriber`) started and stopped by pid.
- `median`, `percentile`, the machine's and the code's description.

The pseudo-terminal driver is `bench.terminal`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from types import TracebackType

from aiohttp import web

from snoop_tui.demo.livekit_server import LocalLiveKitServer, find_livekit_server
from snoop_tui.demo.platform_api import Conversation, PlatformState, start_platform_api
from snoop_tui.demo.stack import ManagedProcess, spawn_call
from snoop_tui.settings import Secret, Settings

CREDENTIAL = "ak_demo_sensitive"
SIZE = (100, 30)
"""Columns and rows of every terminal the panel runs in."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PYTHON = sys.executable
REPO_ROOT = Path(__file__).resolve().parent.parent


# -- statistics ------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), interpolated between the two nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# -- processes ---------------------------------------------------------------------------


def _stat(path: Path) -> tuple[str, list[str]]:
    """A /proc stat file: the command name, and the fields after it (field 3, the state,
    is index 0)."""
    text = path.read_text()
    name, _, rest = text.rpartition(")")
    return name[name.index("(") + 1 :], rest.split()


def _stat_fields(pid: int) -> list[str]:
    return _stat(Path(f"/proc/{pid}/stat"))[1]


def process_cpu(pid: int) -> float:
    """User plus system CPU seconds of a process so far, its ended threads included."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def thread_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """Each thread of a process: thread id -> (its name, user plus system CPU seconds)."""
    threads = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name, fields = _stat(task / "stat")
        except OSError:  # it ended between the listing and the read
            continue
        threads[int(task.name)] = (name, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return threads


def thread_kind(pid: int, tid: int, name: str) -> str:
    """What a thread of process `pid` is, by its id and name: "main", "pulse", "threads"
    or "native" (the kinds `bench.cpu` splits a process's CPU into)."""
    if tid == pid:
        return "main"
    if name == "threaded-ml":  # libpulse's threaded main loop
        return "pulse"
    if name == "python":  # threads Python or PortAudio started (CPython 3.11 names none)
        return "threads"
    return "native"  # tokio-rt-worker, network_thread, worker_thread, SyntheticAudioD...


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = _stat_fields(int(entry))
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


async def only_child(pid: int, timeout: float = 15.0) -> int:
    """The single child of `pid`, once there is one."""
    deadline = time.monotonic() + timeout
    while True:
        kids = children(pid)
        if len(kids) == 1:
            return kids[0]
        if time.monotonic() > deadline:
            raise RuntimeError(f"process {pid} has {len(kids)} children, expected one")
        await asyncio.sleep(0.05)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM this one process, then SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)


async def stop_child(proc: asyncio.subprocess.Process, grace: float = 5.0) -> None:
    """`stop_process` for a child started with asyncio."""
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.01)


# -- the stack ---------------------------------------------------------------------------


class BenchStack:
    """livekit-server and the local platform API, on 127.0.0.1, for one benchmark run."""

    def __init__(self) -> None:
        self.livekit = LocalLiveKitServer()
        self.state: PlatformState | None = None
        self.api_url = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> BenchStack:
        await asyncio.to_thread(self.livekit.start)
        self.state = PlatformState(self.livekit.url, self.livekit.api_key, self.livekit.api_secret)
        self._runner, self.api_url = await start_platform_api(self.state)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await asyncio.to_thread(self.livekit.stop)

    def conversation(self, tag: str) -> tuple[str, str]:
        """A new in-progress conversation with a room of its own: (id, room name)."""
        assert self.state is not None
        suffix = uuid.uuid4().hex[:8]
        conversation_id, room = f"conv_{tag}_{suffix}", f"bench-{tag}-{suffix}"
        self.state.conversations[conversation_id] = Conversation(id=conversation_id, room_name=room)
        return conversation_id, room

    @property
    def settings(self) -> Settings:
        return Settings(api_url=self.api_url, credential=Secret(CREDENTIAL))

    def env(self) -> dict[str, str]:
        """What `snoop-tui watch` reads: the local platform and its demo credential only."""
        return {
            "ANYREACH_API_URL": self.api_url,
            "ANYREACH_TOKEN": CREDENTIAL,
            "ANYREACH_CONFIG": "/nonexistent",
        }


@contextlib.asynccontextmanager
async def talking_call(
    stack: BenchStack, room: str, *, continuous_audio: bool = False
) -> AsyncIterator[ManagedProcess]:
    """The demo's simulated call in `room`, in a process of its own, talking until stopped:
    the script on repeat at 4 words a second, both voices audible throughout with
    `continuous_audio`."""
    with tempfile.TemporaryDirectory(prefix="snoop-bench-") as workdir:
        extra = ("--continuous-audio",) if continuous_audio else ()
        call = spawn_call(
            stack.livekit, room, Path(workdir), loops=None, words_per_second=4, extra_args=extra
        )
        try:
            deadline = time.monotonic() + 30
            while "call running" not in call.log_path.read_text(errors="replace"):
                call.check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the simulated call did not start; see {call.log_path}")
                await asyncio.sleep(0.05)
            yield call
        finally:
            await asyncio.to_thread(call.stop)


# -- the machine ---------------------------------------------------------------------------


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def code_version() -> str:
    """The commit the benchmark measures, and how many files differ from it (read-only git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (
        f", {len(changed)} files with changes not committed" if changed else ""
    )


def machine() -> str:
    """Cores, memory, Python, kernel and the stack's versions, in one line."""
    from importlib.metadata import version

    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    try:
        livekit = subprocess.run(
            [str(find_livekit_server()), "--version"], capture_output=True, text=True, timeout=10
        ).stdout.split()[-1]
    except (OSError, IndexError, subprocess.SubprocessError):
        livekit = "?"
    return (
        f"{os.cpu_count()} cores, {mem_kib / 1024 / 1024:.0f} GiB, {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"Linux {platform.release()}, livekit-server {livekit}, livekit (rtc) "
        f"{version('livekit')}, Textual {version('textual')}"
    )


class BareSubscriber:
    """`bench.bare_subscriber` in a process of its own, started and stopped by its pid."""

    def __init__(self, proc: asyncio.subprocess.Process, started: float) -> None:
        self.proc = proc
        self.started = started
        """When this process was asked for (just before it was spawned)."""
        self.events: dict[str, float] = {}
        self.speaker_changes: int | None = None
        """Active-speaker updates the server sent it (printed as it leaves: after `stop`)."""

    @property
    def pid(self) -> int:
        return self.proc.pid

    @classmethod
    async def start(
        cls,
        stack: BenchStack,
        conversation: str,
        *,
        read_audio: bool = False,
        frame_ms: int | None = None,
        audio: bool = True,
    ) -> BareSubscriber:
        """Spawn it and wait until it has subscribed to an audio track (joined, without
        `audio`: it then subscribes to none)."""
        argv = ["-m", "bench.bare_subscriber", "--api-url", stack.api_url]
        argv += ["--conversation", conversation] + (["--read-audio"] if read_audio else [])
        argv += [] if audio else ["--no-audio"]
        argv += ["--frame-ms", str(frame_ms)] if frame_ms else []
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            PYTHON,
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=REPO_ROOT,
        )
        bare = cls(proc, started)
        ready = "subscribed" if audio else "connected"
        try:
            while ready not in bare.events:
                assert proc.stdout is not None
                line = await asyncio.wait_for(proc.stdout.readline(), 60)
                if not line:
                    raise RuntimeError("the bare subscriber exited before subscribing")
                what, at = line.decode().split()
                bare.events[what] = float(at)
        except BaseException:
            await bare.stop()
            raise
        return bare

    def since_start(self, what: str) -> float:
        return self.events[what] - self.started

    async def stop(self) -> None:
        await stop_child(self.proc)
        assert self.proc.stdout is not None
        for line in (await self.proc.stdout.read()).decode().splitlines():
            what, _, value = line.partition(" ")
            if what == "speaker_changes":
                self.speaker_changes = int(value)

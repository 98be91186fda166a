"""A real livekit-server on 127.0.0.1, started in a temp dir for the demo and the tests.

The server binds only the loopback interface: HTTP/WebSocket on one free TCP port, media
on a small free UDP range, and no RTC TCP port (it would otherwise bind every interface).

Every process the demo starts dies with the process that started it, SIGKILL included
(`die_with_starter`), and keeps its files in a temp folder under `$SNOOP_DEMO_TMPDIR`
when that is set: `snoop-tui demo` sets it to a folder of its own and removes that
folder when the panel ends, however it ends.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from snoop_tui.lifeline import die_with_parent, die_with_starter

REPO_ROOT = Path(__file__).resolve().parents[2]
BINARY_ENV = "SNOOP_LIVEKIT_SERVER"
UDP_RANGE_SIZE = 100
_HOST = "127.0.0.1"


class LiveKitServerError(RuntimeError):
    """The local livekit-server could not be found or did not come up."""


SECRET_ENV = "LIVEKIT_API_SECRET"
"""How the local stack hands the LiveKit API secret to its child processes."""

STARTER_ENV = "SNOOP_DEMO_STARTER"
"""The pid of the process that started a demo child: a Python child checks it is alive."""

TMPDIR_ENV = "SNOOP_DEMO_TMPDIR"
"""Where the demo's processes make their temp folders (the system's temp dir if unset)."""


STOP_GRACE = 3.0
"""Seconds a demo child has, once told to stop, to end in order before it just exits."""


def exit_within(seconds: float = STOP_GRACE) -> None:
    """Once a demo child is told to stop: end the process after `seconds` however far its
    orderly stop got. A native room disconnect can wait on a call server that was stopped
    first, and the demo must leave nothing running a few seconds after it ends. Only the
    first call in a process counts."""
    global _exit_timer
    if _exit_timer is None:
        _exit_timer = threading.Timer(seconds, os._exit, args=(0,))
        _exit_timer.daemon = True
        _exit_timer.start()


_exit_timer: threading.Timer | None = None


def starter_alive() -> bool:
    """In a Python child: ask for SIGTERM when the starter dies; False if it is gone already.

    The same request as `die_with_starter`, made again by the child itself, for children
    started some other way (by hand, with `STARTER_ENV` set)."""
    starter = os.environ.get(STARTER_ENV, "")
    return not starter.isdigit() or die_with_parent(int(starter))


def demo_tempdir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A temp folder for one demo process, under `$SNOOP_DEMO_TMPDIR` when it is set."""
    return tempfile.TemporaryDirectory(prefix=prefix, dir=os.environ.get(TMPDIR_ENV) or None)


RUN_TMPDIR_PREFIX = "snoop-tui-demo-"


@contextlib.contextmanager
def demo_tmpdir_for_children() -> Iterator[Path]:
    """A folder for the temp folders of the processes started inside the block (by way of
    `TMPDIR_ENV`), removed at its end however they ended: the guard of `snoop-tui demo`."""
    path = Path(tempfile.mkdtemp(prefix=RUN_TMPDIR_PREFIX))
    before = os.environ.get(TMPDIR_ENV)
    os.environ[TMPDIR_ENV] = str(path)
    try:
        yield path
    finally:
        if before is None:
            os.environ.pop(TMPDIR_ENV, None)
        else:
            os.environ[TMPDIR_ENV] = before
        remove_demo_tmpdir(path)


def remove_orphaned_tmpdir() -> None:
    """The folder `demo_tmpdir_for_children` made (`TMPDIR_ENV`), removed by the process
    it was made for when its maker was killed before it could."""
    named = os.environ.get(TMPDIR_ENV)
    if named and Path(named).name.startswith(RUN_TMPDIR_PREFIX):
        remove_demo_tmpdir(Path(named))


def remove_demo_tmpdir(path: Path, timeout: float = 5.0) -> None:
    """Remove `path` and all in it, trying again while dying children still write there.
    Only for a folder this process made itself."""
    deadline = time.monotonic() + timeout
    shutil.rmtree(path, ignore_errors=True)
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
        shutil.rmtree(path, ignore_errors=True)


def add_api_secret_option(parser: argparse.ArgumentParser) -> None:
    """`--api-secret`, defaulting to $LIVEKIT_API_SECRET (the way the stack passes it)."""
    parser.add_argument(
        "--api-secret",
        default=os.environ.get(SECRET_ENV),
        required=not os.environ.get(SECRET_ENV),
        help=f"LiveKit API secret (default: ${SECRET_ENV}; prefer the variable, argv is public)",
    )


def find_livekit_server() -> Path:
    """Locate the binary: $SNOOP_LIVEKIT_SERVER, then <repo>/.tools/bin, then PATH."""
    from_env = os.environ.get(BINARY_ENV)
    if from_env:
        path = Path(from_env)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise LiveKitServerError(
            f"{BINARY_ENV}={from_env} is not an executable file; point it at a livekit-server "
            "binary (scripts/setup builds one into .tools/bin)."
        )
    local = REPO_ROOT / ".tools" / "bin" / "livekit-server"
    if local.is_file() and os.access(local, os.X_OK):
        return local
    on_path = shutil.which("livekit-server")
    if on_path:
        return Path(on_path)
    raise LiveKitServerError(
        "The demo needs livekit-server, which was not found: in a snoop-tui checkout, "
        f"scripts/setup builds it (a few minutes; needs Go), or set {BINARY_ENV}="
        "/path/to/livekit-server."
    )


def last_words(log_path: Path) -> str:
    """The last line a process logged: its temp folder, log and all, goes when the demo ends,
    so a failure quotes it rather than pointing at it."""
    try:
        lines = log_path.read_text(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    return lines[-1][:300] if lines else "it logged nothing"


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _udp_range_is_free(start: int, size: int) -> bool:
    sockets: list[socket.socket] = []
    try:
        for port in range(start, start + size):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sockets.append(sock)
            sock.bind((_HOST, port))
        return True
    except OSError:
        return False
    finally:
        for sock in sockets:
            sock.close()


def free_udp_range(size: int = UDP_RANGE_SIZE) -> tuple[int, int]:
    """A run of `size` UDP ports on 127.0.0.1 that are all free, as (first, last)."""
    # Below Linux's default ephemeral range (32768+), so client sockets rarely collide.
    for _ in range(200):
        start = 20000 + secrets.randbelow(12000 // size) * size
        if _udp_range_is_free(start, size):
            return start, start + size - 1
    raise LiveKitServerError(f"No free range of {size} UDP ports on {_HOST}.")


def render_config(http_port: int, udp_range: tuple[int, int], api_key: str, api_secret: str) -> str:
    """The server's YAML config: loopback only, explicit keys."""
    return f"""\
port: {http_port}
bind_addresses: ["{_HOST}"]
rtc:
  tcp_port: 0
  port_range_start: {udp_range[0]}
  port_range_end: {udp_range[1]}
  use_external_ip: false
  enable_loopback_candidate: true
  node_ip: {_HOST}
  interfaces:
    includes: ["lo"]
keys:
  {api_key}: {api_secret}
logging:
  level: info
"""


def _answers(http_url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(http_url, timeout=1.0) as response:
            return int(response.status) < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


class LocalLiveKitServer:
    """A livekit-server process bound to 127.0.0.1, stopped by its own pid."""

    def __init__(
        self,
        *,
        api_key: str = "devkey",
        api_secret: str | None = None,
        binary: Path | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret or secrets.token_hex(24)
        if len(self.api_secret) < 32:
            raise ValueError("livekit-server needs an API secret of at least 32 characters.")
        self._binary = binary
        self._startup_timeout = startup_timeout
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._http_port: int | None = None
        self._udp_range: tuple[int, int] | None = None

    @property
    def http_port(self) -> int:
        if self._http_port is None:
            raise LiveKitServerError("livekit-server has not been started.")
        return self._http_port

    @property
    def url(self) -> str:
        return f"ws://{_HOST}:{self.http_port}"

    @property
    def http_url(self) -> str:
        return f"http://{_HOST}:{self.http_port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise LiveKitServerError("livekit-server is not running.")
        return self._process.pid

    @property
    def workdir(self) -> Path:
        if self._tmp is None:
            raise LiveKitServerError("livekit-server has not been started.")
        return Path(self._tmp.name)

    @property
    def log_path(self) -> Path:
        return self.workdir / "livekit-server.log"

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> LocalLiveKitServer:
        """Start the server (on fresh ports the first time) and wait until it answers."""
        if self.is_running():
            return self
        binary = self._binary or find_livekit_server()
        if self._tmp is None:
            self._tmp = demo_tempdir("snoop-livekit-")
        if self._http_port is None or self._udp_range is None:
            self._http_port = free_tcp_port()
            self._udp_range = free_udp_range()
        config = self.workdir / "livekit.yaml"
        config.write_text(
            render_config(self._http_port, self._udp_range, self.api_key, self.api_secret)
        )
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [str(binary), "--config", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # a Ctrl-C in the terminal is ours to pass on
                # SIGTERM would make it wait 5 s for participants first; it keeps nothing.
                preexec_fn=die_with_starter(signal.SIGKILL),
            )
        self._wait_until_answering()
        return self

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise LiveKitServerError(
                    f"livekit-server exited with code {self._process.returncode}: "
                    f"{last_words(self.log_path)}"
                )
            if _answers(self.http_url):
                return
            time.sleep(0.05)
        self.stop(cleanup=False)
        raise LiveKitServerError(
            f"livekit-server did not answer within {self._startup_timeout:.0f}s: "
            f"{last_words(self.log_path)}"
        )

    def stop(self, *, cleanup: bool = True) -> None:
        """Stop the process by its pid (terminate, wait, then kill); drop the temp dir."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            try:
                process.send_signal(signal.SIGCONT)  # a paused server cannot handle SIGTERM
            except ProcessLookupError:
                pass
            # A first SIGTERM drains rooms and can take a long time; a second one forces exit.
            for grace in (1.0, 5.0):
                process.terminate()
                try:
                    process.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
            else:
                process.kill()
                process.wait(timeout=10)
        if cleanup and self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def restart(self) -> None:
        """Stop and start again on the same ports, as a server that crashed and came back."""
        self.stop(cleanup=False)
        self._wait_for_port_release()
        self.start()

    def _wait_for_port_release(self) -> None:
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((_HOST, self.http_port))
                    return
                except OSError:
                    time.sleep(0.05)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but nothing answers."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Thaw a paused server (SIGCONT)."""
        os.kill(self.pid, signal.SIGCONT)

    def __enter__(self) -> LocalLiveKitServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

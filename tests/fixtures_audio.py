"""A real audio output for tests: a private PulseAudio daemon with a null sink.

The daemon runs as an ordinary per-user server (root is allowed one without --system)
with every path inside a temp dir, and listens only on a unix socket there. PortAudio
reaches it through its ALSA "default" device (the libasound2-plugins pulse plugin,
which honours PULSE_SERVER), and a test records what reached the sink from its
monitor source with `parec`.

PortAudio lists devices once, at `import sounddevice` (Pa_Initialize). The fixture sets
the environment first and, if sounddevice was already imported by then, re-initialises
PortAudio (`sounddevice._terminate(); sounddevice._initialize()`) so the sink is listed
either way; the fixture itself imports sounddevice only after the environment is set.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from snoop_tui.lifeline import die_with_starter

SINK_NAME = "snoop_test"
# The player opens at 48 kHz (LiveKit's rate); a sink at another rate makes the
# pulse plugin start each stream with a burst of underflows while it resamples.
_SINK_ARGS = (f"sink_name={SINK_NAME}", "rate=48000")
RECORD_RATE = 16000

Samples = npt.NDArray[np.int16]


@dataclass
class Recording:
    """What reached the sink while a `parec` on its monitor ran."""

    rate: int = RECORD_RATE
    _chunks: list[bytes] = field(default_factory=list)

    @property
    def samples(self) -> Samples:
        data = b"".join(self._chunks)
        return np.frombuffer(data[: len(data) // 2 * 2], dtype=np.int16)


@dataclass
class NullSink:
    """The test sink: its names, its server address, and a way to hear it."""

    sink_name: str
    monitor_name: str
    server: str
    env: dict[str, str]
    _pacer: subprocess.Popen[bytes] | None = None

    def recording(self) -> _Recorder:
        """Context manager: record the monitor (mono, 16 kHz) while the block runs."""
        return _Recorder(self)

    def record(self, seconds: float) -> Samples:
        with self.recording() as rec:
            time.sleep(seconds)
        return rec.samples

    @contextlib.contextmanager
    def unplugged(self) -> Iterator[None]:
        """Take the sink away (as if the headset were pulled out), then bring it back."""
        for line in self.pactl("list", "short", "modules").splitlines():
            index, name, *args = line.split("\t")
            if name == "module-null-sink" and f"sink_name={self.sink_name}" in " ".join(args):
                self.pactl("unload-module", index)
        try:
            yield
        finally:
            self.pactl("load-module", "module-null-sink", *_SINK_ARGS)
            self.pactl("set-default-sink", self.sink_name)
            self.start_pacer()

    def start_pacer(self) -> None:
        """Keep the sink clocked in small blocks, the way a sound card's interrupts would.

        An idle null sink renders in 2-second blocks, so a stream that starts while
        nobody listens stalls for up to 2 s; a low-latency reader on the monitor avoids it.
        """
        self.stop_pacer()
        self._pacer = subprocess.Popen(
            ["parec", f"--device={self.monitor_name}", "--raw", "--latency-msec=10"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_until_sink_keeps_time()

    def stop_pacer(self) -> None:
        if self._pacer is not None:
            _stop_process(self._pacer)
            self._pacer = None

    def pactl(self, *args: str) -> str:
        done = subprocess.run(
            ["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10
        )
        if done.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout


class _Recorder:
    def __init__(self, sink: NullSink) -> None:
        self._sink = sink
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self.recording = Recording()

    def __enter__(self) -> Recording:
        self._proc = subprocess.Popen(
            [
                "parec",
                f"--device={self._sink.monitor_name}",
                "--raw",
                "--format=s16le",
                "--channels=1",
                f"--rate={RECORD_RATE}",
                "--latency-msec=10",
            ],
            env=self._sink.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        started = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(started,), daemon=True)
        self._reader.start()
        if not started.wait(5):  # the monitor always streams, silence included
            self._stop()
            raise RuntimeError("parec produced no data from the null sink monitor")
        self.recording._chunks.clear()  # start from the moment the block starts
        return self.recording

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _read(self, started: threading.Event) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while chunk := os.read(fd, 4096):
            self.recording._chunks.append(chunk)
            started.set()

    def _stop(self) -> None:
        if self._proc is not None:
            _stop_process(self._proc)
        if self._reader is not None:
            self._reader.join(5)
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop one process we started, by its own pid."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _wait_for_sink(sink: NullSink, daemon: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise RuntimeError(f"pulseaudio exited early:\n{log.read_text(errors='replace')}")
        try:
            if SINK_NAME in sink.pactl("list", "short", "sinks"):
                return
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"pulseaudio did not come up:\n{log.read_text(errors='replace')}")


def _wait_until_sink_keeps_time() -> None:
    """Play silence until the sink consumes it in real time.

    The pacer's latency request only takes hold once the sink finishes the 2-second block
    it is rendering, so the first stream after a (re)load would otherwise stall.
    """
    import sounddevice

    consumed: list[float] = []

    def callback(outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        outdata.fill(0)
        consumed.append(time.monotonic())

    with sounddevice.OutputStream(channels=1, dtype="int16", latency=0.02, callback=callback):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = time.monotonic()
            if sum(1 for t in consumed if now - t < 0.2) >= 10:  # steady 20 ms blocks
                return
    raise RuntimeError("the null sink never started consuming audio in real time")


def _reinitialise_portaudio_if_imported() -> None:
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()


@pytest.fixture(scope="session")
def null_sink() -> Iterator[NullSink]:
    """A private PulseAudio null sink that PortAudio's default output plays into."""
    with private_null_sink() as sink:
        yield sink


@contextlib.contextmanager
def private_null_sink() -> Iterator[NullSink]:
    """Start the sink and point this process's audio at it; the screenshots use it too."""
    root = Path(tempfile.mkdtemp(prefix="snoop-pulse-"))  # short: unix socket paths max 108
    socket = root / "native"
    script = root / "sink.pa"
    script.write_text(
        f"load-module module-native-protocol-unix socket={socket} auth-anonymous=1\n"
        f"load-module module-null-sink {' '.join(_SINK_ARGS)}\n"
        f"set-default-sink {SINK_NAME}\n"
    )
    client_conf = root / "client.conf"
    client_conf.write_text("autospawn = no\n")
    # As root the daemon gets a real-time thread, and by default the kernel kills it
    # (RLIMIT_RTTIME, 200 ms) if that thread runs long without sleeping, which a busy
    # machine can make happen: every audio test after it then fails to connect.
    daemon_conf = root / ".config" / "pulse" / "daemon.conf"  # $HOME/.config, not XDG
    daemon_conf.parent.mkdir(parents=True)
    daemon_conf.write_text("rlimit-rttime = -1\nrlimit-nofile = 4096\n")
    env = {
        "PULSE_SERVER": f"unix:{socket}",
        "PULSE_SINK": SINK_NAME,
        "PULSE_CLIENTCONFIG": str(client_conf),
        "PULSE_RUNTIME_PATH": str(root / "runtime"),
        "PULSE_STATE_PATH": str(root / "state"),
    }
    daemon_env = {
        **os.environ,
        **env,
        "HOME": str(root),
        "XDG_RUNTIME_DIR": str(root),
        "XDG_CONFIG_HOME": str(root / "config"),
        # Never reach a real session bus (and never autolaunch one).
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={root / 'no-dbus'}",
    }
    log = root / "pulseaudio.log"
    daemon = subprocess.Popen(
        [
            "pulseaudio",
            "-n",  # no default.pa: only the modules in our script
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--use-pid-file=no",
            f"--log-target=file:{log}",
            "-F",
            str(script),
        ],
        env=daemon_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_starter(),  # a worker that aborts takes its daemon with it
    )
    sink = NullSink(
        sink_name=SINK_NAME,
        monitor_name=f"{SINK_NAME}.monitor",
        server=env["PULSE_SERVER"],
        env={**os.environ, **env},
    )
    patch = pytest.MonkeyPatch()
    try:
        _wait_for_sink(sink, daemon, log)
        for key, value in env.items():
            patch.setenv(key, value)
        _reinitialise_portaudio_if_imported()
        sink.start_pacer()
        yield sink
    finally:
        patch.undo()
        sink.stop_pacer()
        _stop_process(daemon)
        shutil.rmtree(root, ignore_errors=True)


def band_energy(samples: Samples, rate: int, freq: float, half_width: float = 15.0) -> float:
    """Fraction (0..1) of the recording's energy within `half_width` Hz of `freq`."""
    x = samples.astype(np.float64)
    x -= x.mean()
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / rate)
    total = float(power.sum())
    if total == 0.0:
        return 0.0
    band = (freqs >= freq - half_width) & (freqs <= freq + half_width)
    return float(power[band].sum()) / total


def peak(samples: Samples) -> int:
    """Largest absolute sample: 0 for the silence of an unused null sink."""
    return int(np.abs(samples.astype(np.int32)).max(initial=0))


def drift_events(
    frame: int,
    block: int,
    rate: int,
    drift: float,
    seconds: float,
    stall: tuple[float, float] | None = None,
) -> Iterator[tuple[bool, float]]:
    """A producer's frames (True) and a device's block reads (False), in time order, on
    simulated clocks: frames of `frame` samples with the producer `drift` fast, blocks of
    `block`, until `seconds`. `stall`: (when, how long) the device stops, then goes on."""
    produce_every = frame / rate / (1 + drift)
    consume_every = block / rate
    k = j = 0
    while True:
        tp = k * produce_every
        tc = (j + 1) * consume_every
        if stall is not None and tc >= stall[0]:
            tc += stall[1]
        if min(tp, tc) >= seconds:
            return
        if tp <= tc:
            k += 1
            yield True, tp
        else:
            j += 1
            yield False, tc


class SimOutlet:
    """A jitter buffer's outlet played by hand, as the player's C callback plays its ring.

    `take(n)` is one device block: it takes up to `n` samples while playing, and stops
    playing when the ring holds fewer than `n` (taking what there is), as the callback does.
    """

    def __init__(self) -> None:
        self._samples: list[npt.NDArray[np.float32]] = []
        self._queued = 0
        self._playing = False
        self.starts = 0

    def queued(self) -> int:
        return self._queued

    def put(self, samples: npt.NDArray[np.float32]) -> None:
        self._samples.append(samples.copy())
        self._queued += len(samples)

    def playing(self) -> bool:
        return self._playing

    def play(self) -> None:
        self._playing = True
        self.starts += 1

    def discard(self, n: int) -> None:
        assert not self._playing, "only a ring the device is not reading may be trimmed"
        self._take(n)

    def take(self, n: int) -> npt.NDArray[np.float32]:
        if not self._playing:
            return np.zeros(0, dtype=np.float32)
        return self._take(n)

    def _take(self, n: int) -> npt.NDArray[np.float32]:
        joined = np.concatenate(self._samples) if self._samples else np.zeros(0, np.float32)
        taken, rest = joined[:n], joined[n:]
        self._samples = [rest] if len(rest) else []
        self._queued = len(rest)
        if len(taken) < n:
            self._playing = False
        return taken

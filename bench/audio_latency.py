"""Call audio playback: our AudioPlayer against LiveKit's OutputPlayer, on the same input.

Three measurements, printed as Markdown tables:

1. added latency: both players play a 440 Hz tone, handed over in frames as long as the
   call's (`FRAME_MS`, 20 ms) paced in real time, into a private PulseAudio null sink
   (PortAudio's ALSA default device through the pulse plugin), each at the rate our player
   opens the device at. A frame's latency is the DAC time PortAudio reports for its first
   sample minus the stream time at which the frame was handed to the player.
   - OutputPlayer's callback is Python, so it is observed: `outputBufferDacTime` plus the
     sample's offset in the block, the block located in the input by its bits (below).
   - Our player's callback is C (rtmixer), so it cannot be observed; its ring can. The
     buffer reports where each frame's first sample landed in the ring, and a thread
     polls every half millisecond how much of the ring the device has taken: the poll
     that first sees a frame's block gone dates the callback that took it. The device's
     queue, from callback to DAC, comes from rtmixer: when the device starts taking a
     ring, it records the DAC time PortAudio reports for the ring's first sample (the
     action's `actual_time`), to set against the poll that saw that block go.
   Our player's own count follows: skips, audio dropped, underruns, the ratio's range.
2. CPU time per minute of listening: process CPU time while each player plays, one player
   per phase, next to the producer alone; and the same split by thread: the loop that
   hands frames over (`time.thread_time()` around it) and the audio callback's thread
   (OutputPlayer's: its `thread_time()` as the callback last saw it; ours, in C: the
   process's other threads started for Python or PortAudio, from /proc).
3. buffer depth under drift, in simulated time: a producer 0.5 % and 1 % fast and slow for
   10 minutes into our JitterBuffer (skips, audio dropped, the resampling ratio's range),
   and 0.5 % fast into OutputPlayer's byte buffer drained by its own callback (captured
   without a device) behind a copy of its AudioMixer's 100 ms chunking.

To tell which input sample OutputPlayer's callback played, the tone's least significant
bit carries a seeded random bit sequence: any 48 consecutive samples name their position
in the input. Run:

    .venv/bin/python -m bench.audio_latency --seconds 25
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import logging
import math
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from time import thread_time  # (the callbacks take an argument named `time`)
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from livekit import rtc
from livekit.rtc.media_devices import MediaDevices, OutputPlayer

from bench.common import thread_cpu, thread_kind
from snoop_tui.audio import FRAME_MS, AudioPlayer, PlayerStats
from snoop_tui.audio_output import DEVICE_BLOCK_S
from snoop_tui.jitter import Int16Array, JitterBuffer
from tests.fixtures_audio import SimOutlet, drift_events, private_null_sink

TONE_HZ = 440.0
TONE_AMPLITUDE = 8000
KEY_BITS = 48  # played samples needed to locate a block in the input
WARMUP_S = 1.0  # frames handed over in each phase's first second are left out
DRAIN_S = 0.6  # the output keeps running this long after the last frame
DRIFTS = (0.005, -0.005, 0.01, -0.01)  # producer this much faster (negative: slower)
DRIFT_MINUTES = 10
SIM_RATE = 48000
SIM_OURS_BLOCK = round(SIM_RATE * DEVICE_BLOCK_S)  # the block size our player asks for
SOURCE = "caller"


@dataclass(frozen=True)
class Block:
    """One of OutputPlayer's output callbacks: its stream times and the first channel it played."""

    current: float
    dac: float
    samples: Int16Array
    underflow: bool


@dataclass
class Playback:
    """What one observed phase recorded."""

    name: str
    arrivals: list[float]  # stream time at which frame k was handed to the player
    blocks: list[Block]
    end_depth_ms: float
    stats: PlayerStats | None = None  # our player's, at the end of the phase


def marked_tone(rate: int, seconds: float, seed: int = 7) -> Int16Array:
    """A tone whose least significant bits are a seeded random sequence."""
    t = np.arange(int(rate * seconds)) / rate
    tone = np.round(TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16)
    bits = np.random.default_rng(seed).integers(0, 2, len(tone), dtype=np.int16)
    marked: Int16Array = (tone & np.int16(-2)) | bits
    return marked


def _keys(samples: Int16Array) -> npt.NDArray[np.uint64]:
    """For each position, the KEY_BITS low bits starting there, packed into one integer."""
    bits = (samples & 1).astype(np.uint64)
    m = len(bits) - KEY_BITS + 1
    keys = np.zeros(max(0, m), dtype=np.uint64)
    for i in range(KEY_BITS):
        keys |= bits[i : i + m] << np.uint64(i)
    return keys


class SampleLocator:
    """Finds where a run of played samples starts in the input."""

    def __init__(self, signal: Int16Array) -> None:
        self.signal = signal
        keys = _keys(signal)
        self._order = np.argsort(keys, kind="stable")
        self._sorted = keys[self._order]

    def locate(self, played: Int16Array) -> tuple[int, int] | None:
        """(input position of played[0], length of the run equal to the input), if found."""
        if len(played) < KEY_BITS:
            return None
        key = _keys(played[:KEY_BITS])[0]
        i = int(np.searchsorted(self._sorted, key))
        if i >= len(self._sorted) or self._sorted[i] != key:
            return None
        if i + 1 < len(self._sorted) and self._sorted[i + 1] == key:
            return None  # two input positions share this key: ambiguous
        start = int(self._order[i])
        ref = self.signal[start : start + len(played)]
        same = played[: len(ref)] == ref
        run = len(ref) if bool(same.all()) else int(np.argmin(same))
        return (start, run) if run >= KEY_BITS else None


class Target(Protocol):
    """A player as the producer sees it."""

    async def start(self) -> None: ...
    def clock(self) -> float: ...
    def hand(self, frame: rtc.AudioFrame) -> None: ...
    def depth_ms(self) -> float: ...
    def callback_cpu(self) -> float: ...
    async def stop(self) -> None: ...


class _ObservedAudioPlayer(AudioPlayer):
    """Our player, unchanged, plus where each frame landed in its ring, when the device
    took each block of the ring, and when each playback of the ring began.

    The callback is C, so a thread polls the ring every half millisecond for how much the
    device has taken (`takes`). A playback is rtmixer's action, whose `actual_time` is the
    DAC time PortAudio reported for the first sample it played: against the poll that saw
    that block go, it gives the device's queue, from callback to DAC.
    """

    def __init__(self) -> None:
        super().__init__()
        self.landed: list[int | None] = []  # per frame: its first sample's place in the ring
        self.starts: list[tuple[int, Any]] = []  # (place the playback began at, its action)
        self.takes: list[tuple[float, int]] = []  # (stream time, samples taken by then)
        self._polling = False
        self._poller: threading.Thread | None = None

    def open(self) -> None:
        super().open()
        self._polling = True
        self._poller = threading.Thread(target=self._poll, name="ring-poll", daemon=True)
        self._poller.start()

    def close(self) -> None:
        self._polling = False
        if self._poller is not None:
            self._poller.join()
        super().close()

    def _poll(self) -> None:
        most = 0
        while self._polling:
            entry, stream = self._buffers.get(SOURCE), self._stream
            if entry is not None and stream is not None:
                taken = entry[0].played
                if taken > most:  # (a write in progress can make it look smaller)
                    self.takes.append((float(stream.time), taken))
                    most = taken
            time.sleep(0.0005)

    def push(self, source: str, pcm: Int16Array) -> None:
        entry = self._buffers.get(source)
        written = dropped = 0
        action = None
        if entry is not None:
            written, dropped, action = entry[0].written, entry[0].dropped, entry[1]._action
        super().push(source, pcm)
        buffer, ring = self._buffers[source]
        self.landed.append(written if buffer.dropped == dropped else None)
        if ring._action is not action:  # a start
            self.starts.append((buffer.playing_from, ring._action))

    def device_queue(self) -> float:
        """Seconds from the callback taking a block to PortAudio's DAC time for it."""
        queues = []
        for place, action in self.starts:
            dac = float(action.actual_time)
            seen = next((t for t, amount in self.takes if amount > place), None)
            if dac > 0 and seen is not None:
                queues.append(dac - seen)
        return statistics.median(queues)

    def dac_times(self, queue: float) -> dict[int, float]:
        """Frame -> the DAC time of its first sample, given the device's queue."""
        taken = [amount for _t, amount in self.takes]
        times = {}
        for k, place in enumerate(self.landed):
            if place is None:
                continue
            i = bisect.bisect_right(taken, place)
            if i < len(taken):  # the poll that first saw it taken, and where that block began
                block_start = taken[i - 1] if i else place
                times[k] = self.takes[i][0] + queue + (place - block_start) / self.sample_rate
        return times


def _python_threads_cpu() -> float:
    """CPU seconds of this process's threads started for Python or PortAudio, but the main
    one: the audio callback's, in C (CPython 3.11 names no thread)."""
    pid = os.getpid()
    return sum(
        seconds
        for tid, (name, seconds) in thread_cpu(pid).items()
        if thread_kind(pid, tid, name) == "threads"
    )


class OursTarget:
    def __init__(self, player: AudioPlayer) -> None:
        self.player = player

    async def start(self) -> None:
        self.player.open()

    def clock(self) -> float:
        return float(self.player._stream.time)

    def hand(self, frame: rtc.AudioFrame) -> None:
        # What CallAudio._pump does with each AudioStream frame.
        self.player.push(SOURCE, np.frombuffer(frame.data, dtype=np.int16))

    def depth_ms(self) -> float:
        return self.player.stats.depth_ms

    def callback_cpu(self) -> float:
        return _python_threads_cpu()

    async def stop(self) -> None:
        self.player.close()


class _FrameQueue:
    """An async iterator of frames, as rtc.AudioStream is: what OutputPlayer's mixer reads."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[rtc.AudioFrame] = asyncio.Queue()

    def put(self, frame: rtc.AudioFrame) -> None:
        self._queue.put_nowait(frame)

    def __aiter__(self) -> _FrameQueue:
        return self

    async def __anext__(self) -> rtc.AudioFrame:
        return await self._queue.get()


class OutputPlayerTarget:
    """OutputPlayer fed the way add_track() feeds it (mixer), or straight into its buffer."""

    def __init__(
        self, player: OutputPlayer, *, via_mixer: bool = True, cpu: list[float] | None = None
    ) -> None:
        self.player = player
        self.via_mixer = via_mixer
        self.frames = _FrameQueue()
        self.cpu = cpu or [0.0]

    async def start(self) -> None:
        await self.player.start()
        if self.via_mixer:
            mixer = self.player._mixer
            assert mixer is not None
            mixer.add_stream(self.frames)  # add_track()'s last step, minus the AudioStream
        await asyncio.sleep(0.05)  # let the playback task start the stream

    def clock(self) -> float:
        return float(self.player._stream.time)

    def hand(self, frame: rtc.AudioFrame) -> None:
        if self.via_mixer:
            self.frames.put(frame)
        else:  # what the playback loop does with each mixed frame
            self.player._buffer.extend(frame.data.tobytes())

    def depth_ms(self) -> float:
        return len(self.player._buffer) / 2 * 1000 / self.player._sample_rate

    def callback_cpu(self) -> float:
        return self.cpu[0]

    async def stop(self) -> None:
        await self.player.aclose()


class ProducerOnly:
    """No player: the producer's own cost."""

    async def start(self) -> None:
        return None

    def clock(self) -> float:
        return time.monotonic()

    def hand(self, frame: rtc.AudioFrame) -> None:
        return None

    def depth_ms(self) -> float:
        return 0.0

    def callback_cpu(self) -> float:
        return 0.0

    async def stop(self) -> None:
        return None


@contextmanager
def _output_streams_patched(make: Callable[..., Any]) -> Iterator[None]:
    """Route sounddevice.OutputStream(...) through `make(real, **kwargs)` while open."""
    import sounddevice as sd

    real = sd.OutputStream
    sd.OutputStream = lambda *args, **kwargs: make(real, *args, **kwargs)
    try:
        yield
    finally:
        sd.OutputStream = real


def open_output_player(
    rate: int, blocks: list[Block] | None = None, cpu: list[float] | None = None
) -> OutputPlayer:
    """MediaDevices().open_output() at `rate`, its callback observed if `blocks` is given,
    and its thread's CPU time as of the last callback kept in `cpu[0]` if `cpu` is."""

    def make(real: Any, *args: Any, callback: Any, **kwargs: Any) -> Any:
        if blocks is None and cpu is None:
            return real(*args, callback=callback, **kwargs)

        def observed(outdata: Int16Array, frames: int, time_info: Any, status: Any) -> None:
            callback(outdata, frames, time_info, status)
            if cpu is not None:
                cpu[0] = thread_time()
            if blocks is not None:
                blocks.append(
                    Block(
                        time_info.currentTime,
                        time_info.outputBufferDacTime,
                        outdata[:, 0].copy(),
                        bool(status.output_underflow),
                    )
                )

        return real(*args, callback=observed, **kwargs)

    with _output_streams_patched(make):
        return MediaDevices(output_sample_rate=rate).open_output()


async def produce(target: Target, signal: Int16Array, rate: int, seconds: float) -> list[float]:
    """Hand FRAME_MS frames to `target` in real time; return each frame's hand-over time."""
    n = rate * FRAME_MS // 1000
    arrivals: list[float] = []
    start = time.monotonic()
    for k in range(int(seconds * 1000 / FRAME_MS)):
        delay = start + k * FRAME_MS / 1000 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = rtc.AudioFrame(signal[k * n : (k + 1) * n].tobytes(), rate, 1, n)
        arrivals.append(target.clock())
        target.hand(frame)
    return arrivals


async def observed_phase(
    name: str,
    target: Target,
    blocks: list[Block],
    signal: Int16Array,
    rate: int,
    seconds: float,
) -> Playback:
    await target.start()
    try:
        arrivals = await produce(target, signal, rate, seconds)
        depth = target.depth_ms()
        stats = target.player.stats if isinstance(target, OursTarget) else None
        await asyncio.sleep(DRAIN_S)
    finally:
        await target.stop()
    return Playback(name, arrivals, list(blocks), depth, stats)


@dataclass(frozen=True)
class CpuRow:
    """CPU seconds per minute of listening: the process, the producer's loop, the callback."""

    name: str
    process: float
    loop: float
    callback: float


async def cpu_phase(
    name: str, target: Target, signal: Int16Array, rate: int, seconds: float
) -> CpuRow:
    """CPU seconds per minute of listening while `target` plays."""
    await target.start()
    try:
        await asyncio.sleep(0.5)
        cpu0, loop0, wall0 = time.process_time(), time.thread_time(), time.monotonic()
        callback0 = target.callback_cpu()
        await produce(target, signal, rate, seconds)
        callback = target.callback_cpu() - callback0
        cpu, loop = time.process_time() - cpu0, time.thread_time() - loop0
        wall = time.monotonic() - wall0
    finally:
        await target.stop()
    return CpuRow(name, cpu / wall * 60, loop / wall * 60, callback / wall * 60)


@dataclass(frozen=True)
class LatencyRow:
    name: str
    latencies_ms: list[float]
    missing: int  # frames after warm-up never seen played (dropped, or not located)
    short_blocks: int | None  # callbacks in the measured window that played less than asked
    device_underflows: int
    device_ms: float  # median outputBufferDacTime - currentTime (ours: PortAudio's latency)
    block_ms: float  # median callback size
    end_depth_ms: float
    stats: PlayerStats | None  # our player's own account of the phase


def analyse(pb: Playback, locator: SampleLocator, rate: int) -> LatencyRow:
    """OutputPlayer's phase: each block located in the input by its bits."""
    n = rate * FRAME_MS // 1000
    first_played: dict[int, float] = {}
    short = underflows = 0
    window = _window(pb.arrivals)
    for block in pb.blocks:
        found = locator.locate(block.samples)
        if window[0] <= block.current <= window[1]:
            short += found is None or found[1] < len(block.samples)
            underflows += block.underflow
        if found is None:
            continue
        start, run = found
        for k in range(math.ceil(start / n), math.ceil((start + run) / n)):
            first_played.setdefault(k, block.dac + (k * n - start) / rate)
    return _row(
        pb,
        first_played,
        short_blocks=short,
        device_underflows=underflows,
        device_ms=statistics.median((b.dac - b.current) * 1000 for b in pb.blocks),
        block_ms=statistics.median(len(b.samples) * 1000 / rate for b in pb.blocks),
    )


def analyse_ours(pb: Playback, player: _ObservedAudioPlayer) -> LatencyRow:
    """Our phase: each frame placed in its ring, the ring's playback dated by rtmixer."""
    stats = pb.stats
    queue = player.device_queue()
    return _row(
        pb,
        player.dac_times(queue),
        short_blocks=None,
        device_underflows=0 if stats is None else stats.device_underflows,
        device_ms=queue * 1000,
        block_ms=DEVICE_BLOCK_S * 1000,
    )


def _window(arrivals: list[float]) -> tuple[float, float]:
    return arrivals[0] + WARMUP_S, arrivals[-1]


def _row(
    pb: Playback,
    first_played: dict[int, float],
    *,
    short_blocks: int | None,
    device_underflows: int,
    device_ms: float,
    block_ms: float,
) -> LatencyRow:
    start = _window(pb.arrivals)[0]
    measured = [k for k, t in enumerate(pb.arrivals) if t >= start]
    latencies = [(first_played[k] - pb.arrivals[k]) * 1000 for k in measured if k in first_played]
    return LatencyRow(
        name=pb.name,
        latencies_ms=latencies,
        missing=sum(1 for k in measured if k not in first_played),
        short_blocks=short_blocks,
        device_underflows=device_underflows,
        device_ms=device_ms,
        block_ms=block_ms,
        end_depth_ms=pb.end_depth_ms,
        stats=pb.stats,
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- drift, in simulated time ------------------------------------------------------------


@dataclass(frozen=True)
class DriftRow:
    name: str
    drift: float
    final_ms: float
    max_ms: float
    min_ms: float  # after the first second
    dropped_ms: float
    drop_events: int
    underruns: int = 0
    ratio_low: float = 1.0
    ratio_high: float = 1.0


def drift_ours(rate: int, drift: float) -> DriftRow:
    """The real JitterBuffer with AudioPlayer's settings, on a simulated clock, its ring
    taken a block at a time as the C callback takes it."""
    defaults = AudioPlayer()  # the target and cap AudioPlayer gives each source
    now = [0.0]
    outlet = SimOutlet()
    buffer = JitterBuffer(rate, defaults._target_ms, defaults._cap_ms, outlet, clock=lambda: now[0])
    frame = np.zeros(rate * FRAME_MS // 1000, dtype=np.int16)
    deepest = reads = 0
    shallowest = buffer.cap
    settled = rate // SIM_OURS_BLOCK  # reads in the first second
    for is_producer, now[0] in drift_events(
        len(frame), SIM_OURS_BLOCK, rate, drift, DRIFT_MINUTES * 60.0
    ):
        if is_producer:
            buffer.write(frame)
        else:
            outlet.take(SIM_OURS_BLOCK)
            reads += 1
            if reads > settled:
                shallowest = min(shallowest, buffer.depth)
        deepest = max(deepest, buffer.depth)
    ms = 1000 / rate
    return DriftRow(
        "AudioPlayer (JitterBuffer)",
        drift,
        buffer.depth * ms,
        deepest * ms,
        shallowest * ms,
        buffer.dropped * ms,
        buffer.skips,
        buffer.underruns,
        buffer.ratio_low,
        buffer.ratio_high,
    )


class _SimTime:
    currentTime = 0.0
    outputBufferDacTime = 0.0


def drift_output_player(rate: int, drift: float) -> DriftRow:
    """OutputPlayer's own callback and buffer; its mixer's 100 ms chunking reproduced."""
    captured: dict[str, Any] = {}

    def make(real: Any, *args: Any, **kwargs: Any) -> None:
        captured.update(kwargs)  # no device: nothing is opened

    with _output_streams_patched(make):
        player = MediaDevices(output_sample_rate=rate).open_output()
    callback = captured["callback"]
    block = int(captured["blocksize"])
    chunk = rate // 10  # OutputPlayer builds its AudioMixer without a blocksize: 100 ms
    frame = rate * FRAME_MS // 1000
    outdata = np.zeros((block, 1), dtype=np.int16)
    in_mixer = deepest = 0
    shallowest = None
    for is_producer, _ in drift_events(frame, block, rate, drift, DRIFT_MINUTES * 60.0):
        if is_producer:
            in_mixer += frame
            if in_mixer >= chunk:  # the mixer emits one chunk; the playback loop appends it
                player._buffer.extend(bytes(2 * chunk))
                in_mixer -= chunk
        else:
            callback(outdata, block, _SimTime(), None)
        depth = len(player._buffer) // 2 + in_mixer
        deepest = max(deepest, depth)
        if not is_producer and depth:
            shallowest = depth if shallowest is None else min(shallowest, depth)
    ms = 1000 / rate
    final = len(player._buffer) // 2 + in_mixer
    return DriftRow(
        "OutputPlayer (mixer + byte buffer)",
        drift,
        final * ms,
        deepest * ms,
        (shallowest or 0) * ms,
        0.0,
        0,
    )


# -- the run --------------------------------------------------------------------------------


async def run(seconds: float) -> None:
    # OutputPlayer's mixer logs a warning every 100 ms once a phase's producer has stopped.
    logging.getLogger("livekit").setLevel(logging.ERROR)
    drift = [drift_ours(SIM_RATE, d) for d in DRIFTS]
    drift.append(drift_output_player(SIM_RATE, DRIFTS[0]))
    with private_null_sink():
        import sounddevice

        default_rate = int(sounddevice.query_devices(kind="output")["default_samplerate"])
        probe = AudioPlayer()
        probe.open()
        rate = probe.sample_rate
        probe.close()
        signal = marked_tone(rate, seconds + 1)
        locator = SampleLocator(signal)

        ours = _ObservedAudioPlayer()
        playback = await observed_phase("AudioPlayer", OursTarget(ours), [], signal, rate, seconds)
        rows = [analyse_ours(playback, ours)]
        observed: list[tuple[str, Callable[[list[Block]], Target]]] = [
            (
                "OutputPlayer via its mixer (add_track path)",
                lambda b: OutputPlayerTarget(open_output_player(rate, b)),
            ),
            (
                "OutputPlayer, frames appended to its buffer (no mixer)",
                lambda b: OutputPlayerTarget(open_output_player(rate, b), via_mixer=False),
            ),
        ]
        for name, make in observed:
            blocks: list[Block] = []
            playback = await observed_phase(name, make(blocks), blocks, signal, rate, seconds)
            rows.append(analyse(playback, locator, rate))

        def output_player() -> Target:
            cpu = [0.0]
            return OutputPlayerTarget(open_output_player(rate, cpu=cpu), cpu=cpu)

        unobserved: list[tuple[str, Callable[[], Target]]] = [
            ("producer alone (no player)", ProducerOnly),
            ("AudioPlayer", lambda: OursTarget(AudioPlayer())),
            ("OutputPlayer via its mixer", output_player),
        ]
        cpu = [await cpu_phase(name, make(), signal, rate, seconds) for name, make in unobserved]

    _print(rows, cpu, drift, (rate, default_rate), seconds)


def _print(
    rows: list[LatencyRow],
    cpu: list[CpuRow],
    drift: list[DriftRow],
    rates: tuple[int, int],
    seconds: float,
) -> None:
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}; {seconds:.0f} s per phase; device opened at "
        f"{rates[0]} Hz (its default rate: {rates[1]} Hz)\n"
    )
    print(
        "| player | frames | median ms | p90 ms | max ms | device queue ms | block ms "
        "| short blocks | device underflows | frames not played | depth at end ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        lat = r.latencies_ms
        short = "n/a (C)" if r.short_blocks is None else str(r.short_blocks)
        print(
            f"| {r.name} | {len(lat)} | {statistics.median(lat):.1f} | {_pct(lat, 0.9):.1f} "
            f"| {max(lat):.1f} | {r.device_ms:.1f} | {r.block_ms:.1f} | {short} "
            f"| {r.device_underflows} | {r.missing} | {r.end_depth_ms:.0f} |"
        )
    ours, sdk = statistics.median(rows[0].latencies_ms), statistics.median(rows[1].latencies_ms)
    print(f"\nmedian added latency, AudioPlayer / OutputPlayer (mixer path): {ours / sdk:.2f}")
    own = rows[0].stats
    if own is not None:
        print(
            f"AudioPlayer's own count: {own.skips} skips, "
            f"{own.dropped_samples * 1000 / rates[0]:.0f} ms dropped, {own.underruns} underruns, "
            f"resampling ratio {own.ratio_low:.4f} to {own.ratio_high:.4f}"
        )
    print()
    base = cpu[0].process
    print(
        "| phase | CPU s per minute | % of one core | minus producer alone, s per minute "
        "| loop thread, s per minute | callback thread, s per minute |"
    )
    print("|---|---|---|---|---|---|")
    for c in cpu:
        print(
            f"| {c.name} | {c.process:.2f} | {c.process / 60 * 100:.1f} "
            f"| {c.process - base:.2f} | {c.loop:.2f} | {c.callback:.2f} |"
        )
    print(
        f"\n| model ({DRIFT_MINUTES} simulated min, {SIM_RATE} Hz) | producer | final depth ms "
        "| max depth ms | min depth ms (after 1 s) | skips | audio dropped ms | underruns "
        "| ratio range |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for d in drift:
        print(
            f"| {d.name} | {d.drift * 100:+.1f} % | {d.final_ms:.0f} | {d.max_ms:.0f} "
            f"| {d.min_ms:.0f} | {d.drop_events} | {d.dropped_ms:.0f} | {d.underruns} "
            f"| {d.ratio_low:.4f} to {d.ratio_high:.4f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=25.0, help="length of each phase")
    asyncio.run(run(parser.parse_args().seconds))

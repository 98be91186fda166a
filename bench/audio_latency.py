"""Call audio playback: our AudioPlayer against LiveKit's OutputPlayer, on the same input.

Three measurements, printed as Markdown tables:

1. added latency: both players play a 440 Hz tone, handed over in 10 ms frames paced in
   real time, into a private PulseAudio null sink (PortAudio's ALSA default device through
   the pulse plugin). A frame's latency is the DAC time PortAudio reports for its first
   sample (`outputBufferDacTime` plus its offset in the block) minus the stream time at
   which the frame was handed to the player.
2. CPU time per minute of listening: process CPU time while each player plays, one player
   per phase and nothing observing its callback, next to the producer alone.
3. buffer depth under drift, in simulated time: a producer 0.5% fast for 10 minutes into
   our JitterBuffer, and into OutputPlayer's byte buffer drained by its own callback
   (captured without a device) behind a copy of its AudioMixer's 100 ms chunking.

To tell which input sample a callback played, the tone's least significant bit carries a
seeded random bit sequence: any 48 consecutive samples name their position in the input.
With one source at gain 1 both players copy samples unchanged. Run:

    .venv/bin/python -m bench.audio_latency --seconds 25
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from livekit import rtc
from livekit.rtc.media_devices import MediaDevices, OutputPlayer

from snoop_tui.audio import AudioPlayer, Int16Array, JitterBuffer
from tests.fixtures_audio import private_null_sink

FRAME_MS = 10
TONE_HZ = 440.0
TONE_AMPLITUDE = 8000
KEY_BITS = 48  # played samples needed to locate a block in the input
WARMUP_S = 1.0  # frames handed over in each phase's first second are left out
DRAIN_S = 0.6  # the output keeps running this long after the last frame
DRIFT = 1.005
DRIFT_MINUTES = 10
SIM_RATE = 48000
SIM_OURS_BLOCK = SIM_RATE * 5 // 1000  # PortAudio gives our stream ~5 ms blocks on this sink


@dataclass(frozen=True)
class Block:
    """One output callback: its stream times and the first channel it played."""

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
    async def stop(self) -> None: ...


class _ObservedAudioPlayer(AudioPlayer):
    """Our player, unchanged, plus a record of what each callback played and when."""

    def __init__(self, blocks: list[Block]) -> None:
        super().__init__()
        self._blocks = blocks

    def _callback(self, outdata: Int16Array, frames: int, time: Any, status: Any) -> None:
        super()._callback(outdata, frames, time, status)
        self._blocks.append(
            Block(
                time.currentTime,
                time.outputBufferDacTime,
                outdata[:, 0].copy(),
                bool(status.output_underflow),
            )
        )


class OursTarget:
    def __init__(self, player: AudioPlayer) -> None:
        self.player = player

    async def start(self) -> None:
        self.player.open()

    def clock(self) -> float:
        return float(self.player._stream.time)

    def hand(self, frame: rtc.AudioFrame) -> None:
        # What ListenerSession._pump_audio does with each AudioStream frame.
        self.player.push("caller", np.frombuffer(frame.data, dtype=np.int16))

    def depth_ms(self) -> float:
        return self.player.stats.depth_ms

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

    def __init__(self, player: OutputPlayer, *, via_mixer: bool = True) -> None:
        self.player = player
        self.via_mixer = via_mixer
        self.frames = _FrameQueue()

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


def open_output_player(rate: int, blocks: list[Block] | None = None) -> OutputPlayer:
    """MediaDevices().open_output() at `rate`, its callback observed if `blocks` is given."""

    def make(real: Any, *args: Any, callback: Any, **kwargs: Any) -> Any:
        if blocks is None:
            return real(*args, callback=callback, **kwargs)

        def observed(outdata: Int16Array, frames: int, time_info: Any, status: Any) -> None:
            callback(outdata, frames, time_info, status)
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
    """Hand 10 ms frames to `target` in real time; return each frame's hand-over time."""
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
        await asyncio.sleep(DRAIN_S)
    finally:
        await target.stop()
    return Playback(name, arrivals, list(blocks), depth)


async def cpu_phase(target: Target, signal: Int16Array, rate: int, seconds: float) -> float:
    """Process CPU seconds per minute of listening while `target` plays."""
    await target.start()
    try:
        await asyncio.sleep(0.5)
        cpu0, wall0 = time.process_time(), time.monotonic()
        await produce(target, signal, rate, seconds)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    finally:
        await target.stop()
    return cpu / wall * 60


@dataclass(frozen=True)
class LatencyRow:
    name: str
    latencies_ms: list[float]
    missing: int  # frames after warm-up never seen played (dropped, or not located)
    short_blocks: int  # callbacks in the measured window that played less than asked
    device_underflows: int
    device_ms: float  # median outputBufferDacTime - currentTime
    block_ms: float  # median callback size
    end_depth_ms: float


def analyse(pb: Playback, locator: SampleLocator, rate: int) -> LatencyRow:
    n = rate * FRAME_MS // 1000
    first_played: dict[int, float] = {}
    short = underflows = 0
    window = (pb.arrivals[0] + WARMUP_S, pb.arrivals[-1])
    for block in pb.blocks:
        found = locator.locate(block.samples)
        in_window = window[0] <= block.current <= window[1]
        if in_window:
            short += found is None or found[1] < len(block.samples)
            underflows += block.underflow
        if found is None:
            continue
        start, run = found
        for k in range(-(-start // n), (start + run - 1) // n + 1):
            first_played.setdefault(k, block.dac + (k * n - start) / rate)
    measured = [k for k, t in enumerate(pb.arrivals) if t >= window[0]]
    latencies = [(first_played[k] - pb.arrivals[k]) * 1000 for k in measured if k in first_played]
    return LatencyRow(
        name=pb.name,
        latencies_ms=latencies,
        missing=sum(1 for k in measured if k not in first_played),
        short_blocks=short,
        device_underflows=underflows,
        device_ms=statistics.median((b.dac - b.current) * 1000 for b in pb.blocks),
        block_ms=statistics.median(len(b.samples) * 1000 / rate for b in pb.blocks),
        end_depth_ms=pb.end_depth_ms,
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- drift, in simulated time ------------------------------------------------------------


@dataclass(frozen=True)
class DriftRow:
    name: str
    final_ms: float
    max_ms: float
    dropped_ms: float
    drop_events: int


def _schedule(frame: int, block: int, rate: int) -> Iterator[bool]:
    """Producer (True) and consumer (False) events in time order, producer DRIFT fast."""
    produce_every = frame / rate / DRIFT
    consume_every = block / rate
    end = DRIFT_MINUTES * 60.0
    k = j = 0
    while True:
        tp, tc = k * produce_every, (j + 1) * consume_every
        if min(tp, tc) >= end:
            return
        if tp <= tc:
            k += 1
            yield True
        else:
            j += 1
            yield False


def drift_ours(rate: int) -> DriftRow:
    defaults = AudioPlayer()  # the target and cap AudioPlayer gives each source
    buffer = JitterBuffer(rate, defaults._target_ms, defaults._cap_ms)
    frame = np.zeros(rate * FRAME_MS // 1000, dtype=np.int16)
    deepest = events = 0
    for is_producer in _schedule(len(frame), SIM_OURS_BLOCK, rate):
        if is_producer:
            buffer.write(frame)
        else:
            before = buffer.dropped
            buffer.read(SIM_OURS_BLOCK)
            events += buffer.dropped > before
        deepest = max(deepest, buffer.depth)
    ms = 1000 / rate
    return DriftRow(
        "AudioPlayer (JitterBuffer)", buffer.depth * ms, deepest * ms, buffer.dropped * ms, events
    )


class _SimTime:
    currentTime = 0.0
    outputBufferDacTime = 0.0


def drift_output_player(rate: int) -> DriftRow:
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
    for is_producer in _schedule(frame, block, rate):
        if is_producer:
            in_mixer += frame
            if in_mixer >= chunk:  # the mixer emits one chunk; the playback loop appends it
                player._buffer.extend(bytes(2 * chunk))
                in_mixer -= chunk
        else:
            callback(outdata, block, _SimTime(), None)
        deepest = max(deepest, len(player._buffer) // 2 + in_mixer)
    ms = 1000 / rate
    final = len(player._buffer) // 2 + in_mixer
    return DriftRow("OutputPlayer (mixer + byte buffer)", final * ms, deepest * ms, 0.0, 0)


# -- the run --------------------------------------------------------------------------------


async def run(seconds: float) -> None:
    # OutputPlayer's mixer logs a warning every 100 ms once a phase's producer has stopped.
    logging.getLogger("livekit").setLevel(logging.ERROR)
    drift = [drift_ours(SIM_RATE), drift_output_player(SIM_RATE)]
    with private_null_sink():
        probe = AudioPlayer()
        probe.open()
        rate = probe.sample_rate
        probe.close()
        signal = marked_tone(rate, seconds + 1)
        locator = SampleLocator(signal)

        observed: list[tuple[str, Callable[[list[Block]], Target]]] = [
            ("AudioPlayer", lambda b: OursTarget(_ObservedAudioPlayer(b))),
            (
                "OutputPlayer via its mixer (add_track path)",
                lambda b: OutputPlayerTarget(open_output_player(rate, b)),
            ),
            (
                "OutputPlayer, frames appended to its buffer (no mixer)",
                lambda b: OutputPlayerTarget(open_output_player(rate, b), via_mixer=False),
            ),
        ]
        rows: list[LatencyRow] = []
        for name, make in observed:
            blocks: list[Block] = []
            playback = await observed_phase(name, make(blocks), blocks, signal, rate, seconds)
            rows.append(analyse(playback, locator, rate))

        unobserved: list[tuple[str, Callable[[], Target]]] = [
            ("producer alone (no player)", ProducerOnly),
            ("AudioPlayer", lambda: OursTarget(AudioPlayer())),
            ("OutputPlayer via its mixer", lambda: OutputPlayerTarget(open_output_player(rate))),
        ]
        cpu: list[tuple[str, float]] = []
        for name, target in unobserved:
            cpu.append((name, await cpu_phase(target(), signal, rate, seconds)))

    _print(rows, cpu, drift, rate, seconds)


def _print(
    rows: list[LatencyRow],
    cpu: list[tuple[str, float]],
    drift: list[DriftRow],
    rate: int,
    seconds: float,
) -> None:
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}; device rate {rate} Hz; {seconds:.0f} s per phase\n"
    )
    print(
        "| player | frames | median ms | p90 ms | max ms | device queue ms | block ms "
        "| short blocks | device underflows | frames not played | depth at end ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        lat = r.latencies_ms
        print(
            f"| {r.name} | {len(lat)} | {statistics.median(lat):.1f} | {_pct(lat, 0.9):.1f} "
            f"| {max(lat):.1f} | {r.device_ms:.1f} | {r.block_ms:.1f} | {r.short_blocks} "
            f"| {r.device_underflows} | {r.missing} | {r.end_depth_ms:.0f} |"
        )
    ours, sdk = statistics.median(rows[0].latencies_ms), statistics.median(rows[1].latencies_ms)
    print(f"\nmedian added latency, AudioPlayer / OutputPlayer (mixer path): {ours / sdk:.2f}\n")
    base = cpu[0][1]
    print("| phase | CPU s per minute | % of one core | minus producer alone, s per minute |")
    print("|---|---|---|---|")
    for name, per_min in cpu:
        print(f"| {name} | {per_min:.2f} | {per_min / 60 * 100:.1f} | {per_min - base:.2f} |")
    print(
        f"\n| model ({DRIFT_MINUTES} simulated min, producer {(DRIFT - 1) * 100:.1f}% fast, "
        f"{SIM_RATE} Hz) | final depth ms | max depth ms | audio dropped ms | drop events |"
    )
    print("|---|---|---|---|---|")
    for d in drift:
        print(
            f"| {d.name} | {d.final_ms:.0f} | {d.max_ms:.0f} | {d.dropped_ms:.0f} "
            f"| {d.drop_events} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=25.0, help="length of each phase")
    asyncio.run(run(parser.parse_args().seconds))

"""Call audio playback: one PortAudio output stream, a jitter buffer per remote track, a mixer.

Threads: the owner (the asyncio loop that opens the player and pushes to it) and
PortAudio's thread (the audio callback, and the finished callback). They share no lock;
every field has one writer. Each `JitterBuffer` is single-producer/single-consumer: the
producer alone writes `_claimed`, `_floor`, `_w` and when its last write landed; the
consumer alone writes `_r` and everything that steers playback (the depth's trend, the
resampling ratio and phase, the counters); under the GIL each assignment is atomic, and
the callback's arrays are all allocated before it runs. The set of sources the callback mixes
is an immutable tuple that the owner replaces in one assignment. When a stream ends by
itself (the device went away), PortAudio's thread only records which stream finished
(`_finished`); the owner retires it (drops the stream and the buffers, reports the fault)
on its loop, or on its next call if it has no loop.

`sounddevice` is imported only when audio is first needed, so a machine without
libportaudio can still run everything else and gets `AudioUnavailable` when it asks to play.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from snoop_tui.errors import AudioUnavailable

Int16Array = npt.NDArray[np.int16]
Float32Array = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]

# LiveKit decodes at 48 kHz: a device opened at that rate needs no resampling anywhere.
# PortAudio reports 44.1 kHz for ALSA's pulse/default device whatever the server runs at,
# so the device's default rate is only the fallback.
DEFAULT_SAMPLE_RATE = 48000
FULL_SCALE = 32767
# 12 ms of device buffer asked for, which ALSA's pulse plugin rounds to about 15 ms at
# 48 kHz (20 ms became 30): the callback needs the GIL, which the call process's loop can
# hold for a few milliseconds; PortAudio's "low" (about 9 ms on ALSA) underflows under load.
DEVICE_LATENCY_S = 0.012
# 5 ms blocks: with 10 ms ones a 20 ms buffer keeps too thin a cushion under the block
# being read (the drift model runs dry at -1 %), and a larger buffer costs latency.
DEVICE_BLOCK_S = 0.005
TARGET_MS = 20.0  # each track's buffer: one 10 ms frame plus 10 ms for delivery jitter
_SCRATCH_FRAMES = 8192
_SHED_MARGIN_S = 0.04  # a backlog this far above the target is a stall's, not drift's

# Drift absorption. The producer (LiveKit's frames, on the SDK's clock) and the device (its
# own crystal) never run at exactly the same rate; rather than skip when the difference
# piles up, each buffer plays slightly faster or slower. A PI controller on the depth's
# trend: the proportional term pulls the depth back, the integral one settles on the clock
# mismatch itself, so the depth returns to the target whatever the drift.
TREND_S = 0.5  # time constant of the depth's trend: an average over about a second
STRETCH_LIMIT = 0.02  # at most 2 % faster or slower, a third of a semitone: inaudible on speech
STRETCH_PER_S = 3.0  # 3 % faster per 10 ms that the trend stands above the target,
STRETCH_PER_S2 = 1.0  # ... and 1 % more for every 10 ms that it has stood there for a second
STRETCH_SLEW_PER_S = 0.04  # the ratio moves at most 0.02 % per 5 ms block: it glides
STRETCH_DEADBAND = 0.0005  # smaller corrections are not worth it: play the samples as they are
LEARN_AFTER_S = 1.0  # priming overshoots the target by up to a frame: not a drift to learn
TREND_SLACK_S = 0.001  # a trend this close to the target is jitter: nothing to correct

_NO_PORTAUDIO = (
    "The PortAudio library is not installed, so call audio cannot play. "
    "Install it (Debian/Ubuntu: sudo apt install libportaudio2) and try again."
)
_DEVICE_LOST = (
    "The audio output stopped: the device was unplugged or the sound server went away. "
    "The call continues without sound; turn listening on again to retry."
)


def import_sounddevice() -> ModuleType:
    """Import sounddevice, turning a missing PortAudio library into `AudioUnavailable`."""
    try:
        import sounddevice
    except (OSError, ImportError) as exc:
        raise AudioUnavailable(_NO_PORTAUDIO) from exc
    module: ModuleType = sounddevice
    return module


@dataclass(frozen=True)
class OutputDevice:
    """An audio output the supervisor can choose, as PortAudio reports it."""

    index: int
    name: str
    hostapi: str
    channels: int
    default_samplerate: int
    is_default: bool


@dataclass(frozen=True)
class PlayerStats:
    """A snapshot of playback health, for the panel and the benchmarks."""

    frames_played: int
    callbacks: int
    underruns: int
    dropped_samples: int
    depth_ms: float
    sources: int
    device_underflows: int = 0
    skips: int = 0  # times a buffer skipped audio (a stall's backlog, the cap, an overrun)
    ratio_low: float = 1.0  # the range of input samples played per output sample
    ratio_high: float = 1.0


def list_output_devices() -> list[OutputDevice]:
    """Every device PortAudio can play to; raises `AudioUnavailable` without PortAudio."""
    sd = import_sounddevice()
    try:
        devices: list[dict[str, Any]] = list(sd.query_devices())
        hostapis: list[dict[str, Any]] = list(sd.query_hostapis())
        default_out = _default_output_index(sd)
    except sd.PortAudioError as exc:
        raise AudioUnavailable(f"Could not list audio outputs: {exc}") from exc
    return [
        OutputDevice(
            index=int(dev["index"]),
            name=str(dev["name"]),
            hostapi=str(hostapis[int(dev["hostapi"])]["name"]),
            channels=int(dev["max_output_channels"]),
            default_samplerate=int(dev["default_samplerate"]),
            is_default=int(dev["index"]) == default_out,
        )
        for dev in devices
        if int(dev["max_output_channels"]) > 0
    ]


def _default_output_index(sd: ModuleType) -> int:
    index = sd.default.device["output"]  # -1 when PortAudio knows no default output
    return int(index) if isinstance(index, int) else -1


def stream_settings(sd: ModuleType, info: dict[str, Any]) -> dict[str, Any]:
    """How the player opens the output `info` describes: `sd.OutputStream`'s arguments
    but the callbacks (at most two channels, int16, a short buffer in small blocks)."""
    channels = min(2, int(info["max_output_channels"]))
    rate = _device_rate(sd, info, channels)
    return {
        "device": int(info["index"]),
        "samplerate": rate,
        "channels": channels,
        "dtype": "int16",
        "latency": DEVICE_LATENCY_S,
        "blocksize": round(rate * DEVICE_BLOCK_S),
    }


def _device_rate(sd: ModuleType, info: dict[str, Any], channels: int) -> int:
    """48 kHz if the device takes it (LiveKit's rate: nothing resamples), else its own rate."""
    try:
        sd.check_output_settings(
            device=int(info["index"]),
            samplerate=DEFAULT_SAMPLE_RATE,
            channels=channels,
            dtype="int16",
        )
    except (ValueError, sd.PortAudioError):
        return int(info["default_samplerate"])
    return DEFAULT_SAMPLE_RATE


def mix(frames: Sequence[Int16Array], gain: float, out: Int16Array, acc: Float32Array) -> None:
    """Sum `frames` into `out` (len(out) samples; shorter frames are padded with silence).

    Sums in float32 (exact for int16 inputs) and saturates at +/-32767, so loud voices
    clip instead of wrapping round to the opposite sign. `acc` is caller-owned scratch
    at least 2 * len(out) long, so the audio callback allocates no sample memory (adding
    int16 into float32 directly would: numpy buffers the conversion).
    """
    n = len(out)
    if not frames:
        out.fill(0)
        return
    k = len(frames[0])
    if len(frames) == 1 and gain == 1.0:  # nothing to sum or scale: copy, the common case
        out[:k] = frames[0]
        out[k:] = 0
        return
    total, converted = acc[:n], acc[n : 2 * n]
    np.copyto(total[:k], frames[0])
    total[k:] = 0.0
    for frame in frames[1:]:
        k = len(frame)
        np.copyto(converted[:k], frame)
        total[:k] += converted[:k]
    if gain != 1.0:
        total *= gain
    np.clip(total, -FULL_SCALE, FULL_SCALE, out=total)
    np.copyto(out, total, casting="unsafe")


class _Interpolator:
    """Linear interpolation of a block at a fractional rate, into preallocated arrays.

    The audio callback may not allocate sample memory, so every intermediate array lives
    here and is replaced only if the device asks for a larger block than ever before.
    """

    def __init__(self, frames: int) -> None:
        self._steps = np.arange(frames, dtype=np.float64)
        self.source: Float64Array = np.zeros(2 * frames + 2, dtype=np.float64)
        self._pos: Float64Array = np.zeros(frames, dtype=np.float64)
        self._whole: Float64Array = np.zeros(frames, dtype=np.float64)
        self._index: npt.NDArray[np.intp] = np.zeros(frames, dtype=np.intp)
        self._left: Float64Array = np.zeros(frames, dtype=np.float64)
        self._right: Float64Array = np.zeros(frames, dtype=np.float64)

    def run(self, phase: float, ratio: float, out: Int16Array) -> None:
        """Fill `out` with `source` read at positions phase, phase + ratio, phase + 2 ratio...

        `source` must hold both neighbours of every position.
        """
        n = len(out)
        pos, whole, index = self._pos[:n], self._whole[:n], self._index[:n]
        left, right = self._left[:n], self._right[:n]
        np.multiply(self._steps[:n], ratio, out=pos)
        pos += phase
        np.floor(pos, out=whole)
        pos -= whole  # now each output sample's weight of its right-hand neighbour
        np.copyto(index, whole, casting="unsafe")
        np.take(self.source, index, out=left, mode="clip")  # "clip": "raise" buffers a copy
        index += 1
        np.take(self.source, index, out=right, mode="clip")
        right -= left
        right *= pos
        left += right
        np.rint(left, out=left)
        np.copyto(out, left, casting="unsafe")  # between two int16 samples: always in range


class JitterBuffer:
    """A bounded, preallocated ring of one track's samples that smooths jitter and drift.

    Playback starts once `target` samples are buffered. The producer's clock and the
    device's never agree exactly, so the consumer steers the depth back to `target` by
    playing slightly faster or slower (at most `STRETCH_LIMIT`, resampling by linear
    interpolation, as WebRTC's NetEq stretches), following the depth's trend over about
    a second, and plays samples unchanged once the trend sits at the target. Skipping is
    left for what stretching would take seconds to absorb: when the producer runs more
    than `cap` ahead, the oldest audio is dropped back to `target`, and when the buffer
    has stayed above its high water mark for a second (the backlog a stall leaves), the
    consumer skips back to `target`. When it runs dry it counts an underrun and re-primes.
    Indices are absolute sample counts; positions are taken modulo the ring size.
    """

    def __init__(
        self,
        rate: int,
        target_ms: float,
        cap_ms: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target = max(1, round(rate * target_ms / 1000))
        self.cap = max(self.target, round(rate * cap_ms / 1000))
        # Spare room past `cap` so a write never lands on samples the consumer may be copying.
        self._size = 2 * self.cap + rate
        self._ring: Int16Array = np.zeros(self._size, dtype=np.int16)
        self._scratch: Int16Array = np.zeros(_SCRATCH_FRAMES, dtype=np.int16)
        self._interpolator = _Interpolator(_SCRATCH_FRAMES)
        self._rate = rate
        self._clock = clock
        self._w = 0  # producer: end of committed audio
        self._claimed = 0  # producer: end of the write in progress (set before copying)
        self._floor = 0  # producer: oldest sample still worth playing
        self._written = 0  # producer: samples the last write brought
        self._written_at = 0.0  # producer: when it landed, on `clock`
        self._r = 0  # consumer: next sample to play
        self._playing = False  # consumer
        # Above this the excess is a stall's backlog, not drift: stretching would take
        # seconds over it, so it is skipped instead (and the trend holds still meanwhile).
        self._high_water = max(2 * self.target, self.target + round(rate * _SHED_MARGIN_S))
        self._high_for = 0  # consumer: samples played while above the high water mark
        self._recover_after = rate  # consumer: one second of that, then skip back
        self._level = float(self.target)  # consumer: the depth's trend, in samples
        self._drift = 0.0  # consumer: the integral term; settles on the clocks' mismatch
        self._learn_after = 0  # consumer: samples to play before the integral learns again
        self._ratio = 1.0  # consumer: input samples played per output sample
        self._phase = 0.0  # consumer: how far past `_r` the next output sample lies (0..1)
        self.ratio_low = self.ratio_high = 1.0  # consumer: the range the ratio has covered
        self.underruns = 0  # consumer
        self.dropped = 0  # consumer: samples skipped unplayed
        self.skips = 0  # consumer: times it skipped

    @property
    def depth(self) -> int:
        """Samples buffered and not yet played (read `_w` first: the floor moves before it)."""
        w = self._w
        return max(0, w - max(self._r, self._floor))

    @property
    def ratio(self) -> float:
        """Input samples played per output sample: above 1 while draining a surplus."""
        return self._ratio

    def write(self, pcm: Int16Array) -> None:
        """Append samples (producer side only)."""
        n = len(pcm)
        if n == 0:
            return
        new_w = self._w + n
        if n > self.cap:
            pcm = pcm[-self.cap :]
            n = self.cap
        if new_w - max(self._r, self._floor) > self.cap:
            self._floor = new_w - self.target
        self._claimed = new_w
        pos = (new_w - n) % self._size
        first = self._size - pos
        if n <= first:
            self._ring[pos : pos + n] = pcm
        else:
            self._ring[pos:] = pcm[:first]
            self._ring[: n - first] = pcm[first:]
        self._written = n
        self._written_at = self._clock()
        self._w = new_w

    def read(self, frames: int) -> Int16Array:
        """Take up to `frames` samples (consumer side only); a view, valid until the next read."""
        w = self._w
        r = self._r
        floor = self._floor
        if r < floor:
            self._skip(floor - r, w - floor)
            r = floor
        available = w - r
        if self._playing and available > self._high_water:
            self._high_for += frames
            if self._high_for >= self._recover_after:
                self._skip(available - self.target, self.target)
                r = w - self.target
                available = self.target
                self._high_for = 0
        else:
            self._high_for = 0
            self._steer(available, frames)
        if not self._playing:
            if available < min(max(self.target, frames), self.cap):
                self._r = r
                return self._scratch[:0]
            self._playing = True
            self._learn_after = round(self._rate * LEARN_AFTER_S)
        if frames > len(self._scratch):  # once, if the device asks for more than ever before
            self._scratch = np.zeros(frames, dtype=np.int16)
            self._interpolator = _Interpolator(frames)
        if self._ratio == 1.0 and self._phase == 0.0:
            n = self._copy(r, min(frames, available))
            self._r = r + n
        else:
            n = self._stretch(r, frames, available)
        if n < frames:
            self.underruns += 1
            self._playing = False
        return self._scratch[:n]

    def _copy(self, r: int, n: int) -> int:
        """Copy n samples from `r` into the scratch block; how many are fit to play."""
        pos = r % self._size
        first = min(n, self._size - pos)
        self._scratch[:first] = self._ring[pos : pos + first]
        if first < n:
            self._scratch[first:n] = self._ring[: n - first]
        if self._claimed - self._size > r:  # overwritten while copying: never play it
            self._skip(n, self._w - r - n)
            return 0
        return n

    def _stretch(self, r: int, frames: int, available: int) -> int:
        """Play `frames` output samples made from the input at `_ratio`; how many played."""
        phase, ratio = self._phase, self._ratio
        end = phase + frames * ratio
        need = int(end - ratio) + 2  # both neighbours of the last output sample
        if need > available:  # all but dry: play what there is as it is
            self._phase = 0.0
            n = self._copy(r, min(frames, available))
            self._r = r + n
            return n
        source = self._interpolator.source[:need]
        pos = r % self._size
        first = min(need, self._size - pos)
        source[:first] = self._ring[pos : pos + first]
        if first < need:
            source[first:] = self._ring[: need - first]
        if self._claimed - self._size > r:  # overwritten while copying: never play it
            self._skip(need, self._w - r - need)
            self._r = r + need
            return 0
        self._interpolator.run(phase, ratio, self._scratch[:frames])
        advance = round(end)
        if abs(end - advance) < 1e-9:  # landed on a whole sample: plain copying may resume
            self._phase = 0.0
        else:
            advance = int(end)
            self._phase = end - advance
        self._r = r + advance
        return frames

    def _steer(self, available: int, frames: int) -> None:
        """Move the ratio one small step towards what the depth's trend asks for."""
        span = frames / self._rate
        # The depth as if the producer's audio flowed in evenly rather than a frame at a
        # time: without this, the trend would see a sawtooth a frame deep whenever the
        # clocks drift, and the ratio would wobble with it.
        since = (self._clock() - self._written_at) * self._rate
        written = self._written
        even = available - written / 2 + min(written, max(0.0, since))
        self._level += (even - self._level) * min(1.0, span / TREND_S)
        if not self._playing:  # re-priming: the trend sees how dry it ran, the ratio waits
            return
        excess_s = (self._level - self.target) / self._rate
        excess_s -= min(TREND_SLACK_S, max(-TREND_SLACK_S, excess_s))
        push = STRETCH_PER_S * excess_s + self._drift
        if self._learn_after > 0:
            self._learn_after -= frames
        elif STRETCH_DEADBAND <= abs(push) < STRETCH_LIMIT:
            # Only a controller that acts, unsaturated, learns the drift: a backlog drained
            # at full stretch says nothing about the clocks (learning from it would
            # overshoot), and an error too small to act on would only wind it up.
            self._drift += STRETCH_PER_S2 * excess_s * span
        want = 1.0 + min(STRETCH_LIMIT, max(-STRETCH_LIMIT, push))
        if abs(want - 1.0) < STRETCH_DEADBAND:
            want = self._landing(frames)
        step = STRETCH_SLEW_PER_S * span
        ratio = self._ratio
        if abs(want - ratio) <= step:
            ratio = want
        else:
            ratio += step if want > ratio else -step
        self._ratio = ratio
        if ratio < self.ratio_low:
            self.ratio_low = ratio
        elif ratio > self.ratio_high:
            self.ratio_high = ratio

    def _landing(self, frames: int) -> float:
        """The ratio that ends this block on a whole sample, from where copying resumes."""
        phase = self._phase
        if phase == 0.0:
            return 1.0
        if phase <= 0.5:
            return 1.0 - phase / frames  # back onto the sample behind
        return 1.0 + (1.0 - phase) / frames  # on to the sample ahead

    def _skip(self, samples: int, left: int) -> None:
        """Count `samples` skipped unplayed, `left` buffered after them."""
        self.dropped += samples
        self.skips += 1
        self._phase = 0.0
        self._level = float(left)  # the trend starts afresh from what is left


class AudioPlayer:
    """Owns the one output stream and mixes the call's remote tracks into it.

    `on_fault` is called on the owner's thread (the loop that called `open`) when the
    output stops by itself; the player is closed by then and may be opened again.
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        target_ms: float = TARGET_MS,
        cap_ms: float = 150.0,
        on_fault: Callable[[AudioUnavailable], None] | None = None,
    ) -> None:
        self._device = device
        self._target_ms = target_ms
        self._cap_ms = cap_ms
        self._on_fault = on_fault
        self._stream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._finished: Any = None  # PortAudio's thread: the last stream that ended
        self._sd: Any = None
        self._rate = DEFAULT_SAMPLE_RATE
        self._channels = 1
        self._gain = 1.0
        self._focus: frozenset[str] | None = None
        self._buffers: dict[str, JitterBuffer] = {}
        self._plan: tuple[tuple[JitterBuffer, bool], ...] = ()  # what the callback mixes
        self._acc: Float32Array = np.zeros(2 * _SCRATCH_FRAMES, dtype=np.float32)
        self._mono: Int16Array = np.zeros(_SCRATCH_FRAMES, dtype=np.int16)
        self._frames_played = 0
        self._callbacks = 0
        self._device_underflows = 0
        self._retired_underruns = 0
        self._retired_dropped = 0
        self._retired_skips = 0

    @property
    def is_open(self) -> bool:
        """A stream is playing (one that ended by itself does not count)."""
        stream = self._stream
        return stream is not None and stream is not self._finished

    @property
    def sample_rate(self) -> int:
        """The rate `push` expects: the stream's own (48 kHz where the device takes it)."""
        return self._rate

    @property
    def stats(self) -> PlayerStats:
        buffers = list(self._buffers.values())
        depth = max((b.depth for b in buffers), default=0)
        return PlayerStats(
            frames_played=self._frames_played,
            callbacks=self._callbacks,
            underruns=self._retired_underruns + sum(b.underruns for b in buffers),
            dropped_samples=self._retired_dropped + sum(b.dropped for b in buffers),
            depth_ms=depth * 1000.0 / self._rate,
            sources=len(buffers),
            device_underflows=self._device_underflows,
            skips=self._retired_skips + sum(b.skips for b in buffers),
            ratio_low=min((b.ratio_low for b in buffers), default=1.0),
            ratio_high=max((b.ratio_high for b in buffers), default=1.0),
        )

    def open(self) -> None:
        """Open and start the output stream; `AudioUnavailable` if there is nowhere to play."""
        self._retire_finished()
        if self._stream is not None:
            return
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None  # no loop: a stream that ends is retired on the next call
        sd = self._sd = import_sounddevice()
        info = self._query_device(sd)
        settings = stream_settings(sd, info)
        self._rate, self._channels = settings["samplerate"], settings["channels"]
        self._clear_sources()
        holder: list[Any] = []
        try:
            stream = sd.OutputStream(
                **settings,
                callback=self._callback,
                finished_callback=lambda: self._stream_finished(holder),
            )
            holder.append(stream)
            self._stream = stream
            stream.start()
        except sd.PortAudioError as exc:
            self._stream = None
            if holder:
                holder[0].close(ignore_errors=True)
            raise AudioUnavailable(
                f"Could not start audio on {info['name']!r}: {exc}. "
                "Another program may hold the device; choose another output or try again."
            ) from exc

    def close(self) -> None:
        """Stop playback at once and forget all buffered audio."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)
        self._clear_sources()

    def push(self, source: str, pcm: Int16Array) -> None:
        """Queue one track's mono int16 samples at `sample_rate` (asyncio thread only)."""
        if self._stream is None or self._stream is self._finished:
            self._retire_finished()
            return
        if pcm.dtype != np.int16:
            raise TypeError(f"push() takes int16 samples, not {pcm.dtype}")
        buffer = self._buffers.get(source)
        if buffer is None:
            buffer = JitterBuffer(self._rate, self._target_ms, self._cap_ms)
            self._buffers = {**self._buffers, source: buffer}
            self._replan()
        buffer.write(pcm if pcm.ndim == 1 else pcm.reshape(-1))

    def remove_source(self, source: str) -> None:
        buffer = self._buffers.get(source)
        if buffer is None:
            return
        self._buffers = {k: v for k, v in self._buffers.items() if k != source}
        self._replan()
        self._retire(buffer)

    def set_volume(self, gain: float) -> None:
        self._gain = min(2.0, max(0.0, float(gain)))

    def set_focus(self, sources: set[str] | None) -> None:
        """Mix only `sources` (None: all). Unfocused tracks keep draining, so refocus is instant."""
        self._focus = None if sources is None else frozenset(sources)
        self._replan()

    def _replan(self) -> None:
        focus = self._focus
        self._plan = tuple(
            (buffer, focus is None or source in focus) for source, buffer in self._buffers.items()
        )

    def _clear_sources(self) -> None:
        for buffer in self._buffers.values():
            self._retire(buffer)
        self._buffers = {}
        self._plan = ()

    def _retire(self, buffer: JitterBuffer) -> None:
        """Keep a dropped buffer's counts in the totals."""
        self._retired_underruns += buffer.underruns
        self._retired_dropped += buffer.dropped
        self._retired_skips += buffer.skips

    def _query_device(self, sd: ModuleType) -> dict[str, Any]:
        """The chosen output's PortAudio description, or a message naming the outputs there are."""
        try:
            info: dict[str, Any] = dict(sd.query_devices(self._device, kind="output"))
        except (ValueError, sd.PortAudioError) as exc:
            names = ", ".join(d.name for d in list_output_devices()) or "none"
            if self._device is None:
                raise AudioUnavailable(
                    f"This machine has no default audio output (outputs found: {names})."
                ) from exc
            raise AudioUnavailable(
                f"No audio output matches {self._device!r} (outputs found: {names})."
            ) from exc
        if int(info.get("max_output_channels", 0)) < 1:
            raise AudioUnavailable(f"{info.get('name')!r} cannot play sound (it has no outputs).")
        return info

    def _callback(self, outdata: Int16Array, frames: int, time: Any, status: Any) -> None:
        # PortAudio thread: no locks, no blocking, no sample-memory allocation.
        try:
            self._fill(outdata, frames, status)
        except Exception:
            # A traceback here would land on the supervisor's terminal; end the stream
            # instead, and the finished callback reports the fault.
            outdata.fill(0)
            raise self._sd.CallbackAbort from None

    def _fill(self, outdata: Int16Array, frames: int, status: Any) -> None:
        self._callbacks += 1
        if status.output_underflow:
            self._device_underflows += 1
        if frames > len(self._mono):  # once, if the device asks for more than ever before
            self._acc = np.zeros(2 * frames, dtype=np.float32)
            self._mono = np.zeros(frames, dtype=np.int16)
        audible: list[Int16Array] = []
        for buffer, is_audible in self._plan:
            samples = buffer.read(frames)
            if is_audible and len(samples):
                audible.append(samples)
        if self._channels == 1:
            mix(audible, self._gain, outdata[:, 0], self._acc)
        else:
            mono = self._mono[:frames]
            mix(audible, self._gain, mono, self._acc)
            outdata[:] = mono[:, np.newaxis]
        if audible:
            self._frames_played += max(len(s) for s in audible)

    def _stream_finished(self, holder: list[Any]) -> None:
        """PortAudio's thread, when a stream ends: record it and wake the owner, nothing more.

        Expected after close() (the stream is no longer ours, so nothing follows); a fault
        if the stream is still ours, which the owner then retires."""
        if not holder:
            return
        self._finished = holder[0]
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
                loop.call_soon_threadsafe(self._retire_finished)

    def _retire_finished(self) -> None:
        """Owner's thread: if our stream ended by itself, drop it and report the fault."""
        stream = self._stream
        if stream is None or stream is not self._finished:
            return
        self._stream = None
        self._clear_sources()
        # Closing waits for PortAudio's thread to end; do not make the loop wait for it.
        threading.Thread(
            target=stream.close, kwargs={"ignore_errors": True}, name="audio-close", daemon=True
        ).start()
        if self._on_fault is not None:
            self._on_fault(AudioUnavailable(_DEVICE_LOST))

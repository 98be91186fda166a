"""Call audio playback: one PortAudio output stream, a jitter buffer per remote track, a mixer.

Threads: the owner (the asyncio loop that opens the player and pushes to it) and
PortAudio's thread (the audio callback, and the finished callback). They share no lock;
every field has one writer. Each `JitterBuffer` is single-producer/single-consumer: the
producer alone writes `_claimed`, `_floor` and `_w`, the consumer alone writes `_r`, and
under the GIL each of those assignments is atomic. The set of sources the callback mixes
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from snoop_tui.errors import AudioUnavailable

Int16Array = npt.NDArray[np.int16]
Float32Array = npt.NDArray[np.float32]

DEFAULT_SAMPLE_RATE = 48000
FULL_SCALE = 32767
# 20 ms of device buffer: the callback needs the GIL, and Textual can hold it for a few
# milliseconds at a time; PortAudio's "low" (about 9 ms on ALSA) underflows under load.
DEVICE_LATENCY_S = 0.02
_SCRATCH_FRAMES = 8192

_NO_PORTAUDIO = (
    "The PortAudio library is not installed, so call audio cannot play. "
    "Install it (Debian/Ubuntu: sudo apt install libportaudio2) and try again."
)
_DEVICE_LOST = (
    "The audio output stopped: the device was unplugged or the sound server went away. "
    "The call continues without sound; turn listening on again to retry."
)


def _import_sounddevice() -> ModuleType:
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


def list_output_devices() -> list[OutputDevice]:
    """Every device PortAudio can play to; raises `AudioUnavailable` without PortAudio."""
    sd = _import_sounddevice()
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


def mix(frames: Sequence[Int16Array], gain: float, out: Int16Array, acc: Float32Array) -> None:
    """Sum `frames` into `out` (len(out) samples; shorter frames are padded with silence).

    Sums in float32 (exact for int16 inputs) and saturates at +/-32767, so loud voices
    clip instead of wrapping round to the opposite sign. `acc` is caller-owned scratch
    at least len(out) long, so the audio callback allocates no sample memory.
    """
    n = len(out)
    total = acc[:n]
    total.fill(0.0)
    for frame in frames:
        total[: len(frame)] += frame
    if gain != 1.0:
        total *= gain
    np.clip(total, -FULL_SCALE, FULL_SCALE, out=total)
    out[:] = total


class JitterBuffer:
    """A bounded, preallocated ring of one track's samples that smooths network jitter.

    Playback starts once `target` samples are buffered; when the producer runs more than
    `cap` ahead, the oldest audio is dropped back to `target` (a short glitch beats a
    call that stays late forever); when the buffer has stayed above twice the target
    for a second (a backlog left by a device stall, or a sender slightly fast), the
    consumer skips back to `target`, so latency recovers without waiting for the cap;
    when it runs dry the consumer counts an underrun and re-primes. Indices are absolute
    sample counts; positions are taken modulo the ring size.
    """

    def __init__(self, rate: int, target_ms: float, cap_ms: float) -> None:
        self.target = max(1, round(rate * target_ms / 1000))
        self.cap = max(self.target, round(rate * cap_ms / 1000))
        # Spare room past `cap` so a write never lands on samples the consumer may be copying.
        self._size = 2 * self.cap + rate
        self._ring: Int16Array = np.zeros(self._size, dtype=np.int16)
        self._scratch: Int16Array = np.zeros(_SCRATCH_FRAMES, dtype=np.int16)
        self._w = 0  # producer: end of committed audio
        self._claimed = 0  # producer: end of the write in progress (set before copying)
        self._floor = 0  # producer: oldest sample still worth playing
        self._r = 0  # consumer: next sample to play
        self._playing = False  # consumer
        self._high_water = 2 * self.target
        self._high_for = 0  # consumer: samples played while above the high water mark
        self._recover_after = rate  # consumer: one second of that, then skip back
        self.underruns = 0  # consumer
        self.dropped = 0  # consumer: samples skipped unplayed

    @property
    def depth(self) -> int:
        """Samples buffered and not yet played (read `_w` first: the floor moves before it)."""
        w = self._w
        return max(0, w - max(self._r, self._floor))

    def write(self, pcm: Int16Array) -> None:
        """Append samples (producer side only)."""
        n = len(pcm)
        if n == 0:
            return
        w = self._w
        new_w = w + n
        if n > self.cap:
            pcm = pcm[-self.cap :]
        start = new_w - len(pcm)
        if new_w - max(self._r, self._floor) > self.cap:
            self._floor = new_w - self.target
        self._claimed = new_w
        pos = start % self._size
        first = min(len(pcm), self._size - pos)
        self._ring[pos : pos + first] = pcm[:first]
        self._ring[: len(pcm) - first] = pcm[first:]
        self._w = new_w

    def read(self, frames: int) -> Int16Array:
        """Take up to `frames` samples (consumer side only); a view, valid until the next read."""
        w = self._w
        r = self._r
        floor = self._floor
        if r < floor:
            self.dropped += floor - r
            r = floor
        available = w - r
        if self._playing and available > self._high_water:
            self._high_for += frames
            if self._high_for >= self._recover_after:
                skip = available - self.target
                self.dropped += skip
                r += skip
                available = self.target
                self._high_for = 0
        else:
            self._high_for = 0
        if not self._playing:
            if available < min(max(self.target, frames), self.cap):
                self._r = r
                return self._scratch[:0]
            self._playing = True
        if frames > len(self._scratch):
            self._scratch = np.zeros(frames, dtype=np.int16)  # once, if the device asks for more
        n = min(frames, available)
        pos = r % self._size
        first = min(n, self._size - pos)
        self._scratch[:first] = self._ring[pos : pos + first]
        self._scratch[first:n] = self._ring[: n - first]
        if self._claimed - self._size > r:  # overwritten while copying: never play it
            self.dropped += n
            n = 0
        self._r = r + n
        if n < frames:
            self.underruns += 1
            self._playing = False
        return self._scratch[:n]


class AudioPlayer:
    """Owns the one output stream and mixes the call's remote tracks into it.

    `on_fault` is called on the owner's thread (the loop that called `open`) when the
    output stops by itself; the player is closed by then and may be opened again.
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        target_ms: float = 40.0,
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
        self._acc: Float32Array = np.zeros(_SCRATCH_FRAMES, dtype=np.float32)
        self._mono: Int16Array = np.zeros(_SCRATCH_FRAMES, dtype=np.int16)
        self._frames_played = 0
        self._callbacks = 0
        self._device_underflows = 0
        self._retired_underruns = 0
        self._retired_dropped = 0

    @property
    def is_open(self) -> bool:
        """A stream is playing (one that ended by itself does not count)."""
        stream = self._stream
        return stream is not None and stream is not self._finished

    @property
    def sample_rate(self) -> int:
        """The rate `push` expects: the device's own, so PortAudio never resamples."""
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
        sd = self._sd = _import_sounddevice()
        info = self._query_device(sd)
        rate = int(info["default_samplerate"])
        channels = min(2, int(info["max_output_channels"]))
        self._rate, self._channels = rate, channels
        self._clear_sources()
        holder: list[Any] = []
        try:
            stream = sd.OutputStream(
                device=int(info["index"]),
                samplerate=rate,
                channels=channels,
                dtype="int16",
                latency=DEVICE_LATENCY_S,
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
        buffer.write(pcm.reshape(-1))

    def remove_source(self, source: str) -> None:
        buffer = self._buffers.get(source)
        if buffer is None:
            return
        self._buffers = {k: v for k, v in self._buffers.items() if k != source}
        self._replan()
        self._retired_underruns += buffer.underruns
        self._retired_dropped += buffer.dropped

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
            self._retired_underruns += buffer.underruns
            self._retired_dropped += buffer.dropped
        self._buffers = {}
        self._plan = ()

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
        if frames > len(self._acc):
            self._acc = np.zeros(frames, dtype=np.float32)  # once, if the device asks for more
            self._mono = np.zeros(frames, dtype=np.int16)
        audible: list[Int16Array] = []
        for buffer, is_audible in self._plan:
            samples = buffer.read(frames)
            if is_audible and len(samples):
                audible.append(samples)
        mono = self._mono[:frames]
        mix(audible, self._gain, mono, self._acc)
        if audible:
            self._frames_played += max(len(s) for s in audible)
        if self._channels == 1:
            outdata[:, 0] = mono
        else:
            outdata[:] = mono[:, np.newaxis]

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

"""Call audio playback: one PortAudio output stream, a jitter buffer per remote track, a mixer.

Threads: the owner (the asyncio loop that opens the player and pushes to it) and
PortAudio's thread (the audio callback, and the finished callback). They share no lock;
every field has one writer. Each track's `JitterBuffer` (`snoop_tui.jitter`) is
single-producer/single-consumer, and the callback's arrays are all allocated before it
runs. The set of sources the callback mixes is an immutable tuple that the owner
replaces in one assignment. When a stream ends by
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
from snoop_tui.jitter import SCRATCH_FRAMES, Int16Array, JitterBuffer

Float32Array = npt.NDArray[np.float32]

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
# The call's audio comes in 20 ms frames, asked of LiveKit's AudioStream: each frame costs
# a fixed toll (the SDK's FFI event, decoded in Python and dispatched to every stream's
# queue, then our pump), so 20 ms frames instead of the SDK's 10 ms halve it (a subscriber
# reading every frame: 0.79x the CPU). The buffer's depth runs a frame deep around its
# target, so the target is half a frame over the 15 ms cushion the device's blocks need.
FRAME_MS = 20
TARGET_MS = FRAME_MS / 2 + 15.0  # each track's buffer: 25 ms

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
        self._acc: Float32Array = np.zeros(2 * SCRATCH_FRAMES, dtype=np.float32)
        self._mono: Int16Array = np.zeros(SCRATCH_FRAMES, dtype=np.int16)
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

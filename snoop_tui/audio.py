"""Call audio playback: one PortAudio output stream that mixes the call's tracks in C.

The stream is `rtmixer`'s: its audio callback is native code that sums one ring of
samples per remote track into the device's block, so no Python runs on the audio thread
and the callback never waits for the GIL. Python's part is on the owner's asyncio loop,
once per frame: each track's `JitterBuffer` (`snoop_tui.jitter`) steers its ring's depth,
resamples a little to absorb clock drift, applies focus and volume, and queues the
samples. When a stream ends by itself (the device went away), PortAudio's thread only
records which stream finished (`_finished`); the owner retires it (drops the stream and
the buffers, reports the fault) on its loop, or on its next call if it has no loop.

`sounddevice` and `rtmixer` are imported only when audio is first needed, so a machine
without libportaudio can still run everything else and gets `AudioUnavailable` when it
asks to play.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from snoop_tui.audio_output import (
    DEFAULT_SAMPLE_RATE,
    import_rtmixer,
    import_sounddevice,
    list_output_devices,
    stream_settings,
)
from snoop_tui.errors import AudioUnavailable
from snoop_tui.jitter import Float32Array, Int16Array, JitterBuffer

# The call's audio comes in 20 ms frames, asked of LiveKit's AudioStream: each frame costs
# a fixed toll (the SDK's FFI event, decoded in Python and dispatched to every stream's
# queue, then our pump), so 20 ms frames instead of the SDK's 10 ms halve it (a subscriber
# reading every frame: 0.79x the CPU). The ring's depth runs a frame deep around its
# target, so the target is half a frame over the cushion it keeps just before a frame
# comes: 10 ms, two of the device's blocks (the callback stops a ring that cannot fill one).
FRAME_MS = 20
TARGET_MS = FRAME_MS / 2 + 10.0  # each track's ring: 20 ms on average

_DEVICE_LOST = (
    "The audio output stopped: the device was unplugged or the sound server went away. "
    "The call continues without sound; turn listening on again to retry."
)


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


class _Ring:
    """One track's ring, as its `JitterBuffer` sees it: the `Outlet` the C callback plays.

    Mono samples are written to every channel of the device. The mixer's `actions` (a
    set it updates from what the callback reports) tells whether the ring still plays.
    """

    def __init__(self, mixer: Any, rtmixer: ModuleType, channels: int, room: int) -> None:
        self._mixer = mixer
        # PortAudio's ring buffer holds a power of two samples: the first over `room`.
        self._ring = rtmixer.RingBuffer(4 * channels, 1 << max(0, room - 1).bit_length())
        self._channels = channels
        self._frames: Float32Array = np.zeros((0, channels), dtype=np.float32)
        self._action: Any = None

    def queued(self) -> int:
        return int(self._ring.read_available)

    def put(self, samples: Float32Array) -> None:
        if self._channels == 1:
            self._ring.write(samples)
            return
        n = len(samples)
        if len(self._frames) < n:
            self._frames = np.zeros((2 * n, self._channels), dtype=np.float32)
        frames = self._frames[:n]
        frames[:] = samples[:, np.newaxis]
        self._ring.write(frames)

    def playing(self) -> bool:
        return self._action is not None and self._action in self._mixer.actions

    def play(self) -> None:
        self._action = self._mixer.play_ringbuffer(self._ring)

    def discard(self, n: int) -> None:
        self._ring.advance_read_index(n)  # the callback is not reading this ring

    def stop(self) -> None:
        if self.playing():
            self._mixer.cancel(self._action)


class AudioPlayer:
    """Owns the one output stream and plays the call's remote tracks through it.

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
        self._rtmixer: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._finished: Any = None  # PortAudio's thread: the last stream that ended
        self._rate = DEFAULT_SAMPLE_RATE
        self._channels = 1
        self._gain = 1.0
        self._focus: frozenset[str] | None = None
        self._buffers: dict[str, tuple[JitterBuffer, _Ring]] = {}
        self._retired = _Counts()

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
        buffers = [buffer for buffer, _ring in self._buffers.values()]
        retired = self._retired
        device = self._device_counts()
        return PlayerStats(
            frames_played=retired.played + sum(b.played for b in buffers),
            callbacks=retired.callbacks + device[0],
            underruns=retired.underruns + sum(b.underruns for b in buffers),
            dropped_samples=retired.dropped + sum(b.dropped for b in buffers),
            depth_ms=max((b.depth for b in buffers), default=0) * 1000.0 / self._rate,
            sources=len(buffers),
            device_underflows=retired.device_underflows + device[1],
            skips=retired.skips + sum(b.skips for b in buffers),
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
        sd = import_sounddevice()
        rtmixer = self._rtmixer = import_rtmixer()
        info = self._query_device(sd)
        settings = stream_settings(sd, info)
        self._rate, self._channels = settings["samplerate"], settings["channels"]
        self._clear_sources()
        holder: list[Any] = []
        try:
            stream = rtmixer.Mixer(
                **settings, finished_callback=lambda: self._stream_finished(holder)
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
        self._retire_device_counts()
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
        entry = self._buffers.get(source)
        if entry is None:
            # Room for the buffer's cap and a frame (16,384 samples at 48 kHz: 341 ms).
            room = round(self._rate * (self._cap_ms + 2 * FRAME_MS) / 1000)
            ring = _Ring(self._stream, self._rtmixer, self._channels, room)
            entry = JitterBuffer(self._rate, self._target_ms, self._cap_ms, ring), ring
            self._buffers[source] = entry
        focus = self._focus
        gain = self._gain if focus is None or source in focus else 0.0
        entry[0].write(pcm if pcm.ndim == 1 else pcm.reshape(-1), gain)

    def remove_source(self, source: str) -> None:
        entry = self._buffers.pop(source, None)
        if entry is not None:
            self._retire(*entry)

    def set_volume(self, gain: float) -> None:
        self._gain = min(2.0, max(0.0, float(gain)))

    def set_focus(self, sources: set[str] | None) -> None:
        """Play only `sources` (None: all); the others keep draining silently, so a refocus
        is heard as soon as the next frame plays (within the ring's depth, about 20 ms)."""
        self._focus = None if sources is None else frozenset(sources)

    def _clear_sources(self) -> None:
        for entry in self._buffers.values():
            self._retire(*entry)
        self._buffers = {}

    def _retire(self, buffer: JitterBuffer, ring: _Ring) -> None:
        """Stop playing a track's ring, and keep its buffer's counts in the totals."""
        if self.is_open:
            ring.stop()
        retired = self._retired
        retired.played += buffer.played
        retired.underruns += buffer.underruns
        retired.dropped += buffer.dropped
        retired.skips += buffer.skips

    def _device_counts(self) -> tuple[int, int]:
        """Blocks the callback has filled and the underflows PortAudio flagged, this stream.

        The C callback counts them in its state as it runs; a plain read of two integers."""
        stream = self._stream
        if stream is None:
            return 0, 0
        counts = stream._state.stats
        return int(counts.blocks), int(counts.output_underflows)

    def _retire_device_counts(self) -> None:
        blocks, underflows = self._device_counts()
        self._retired.callbacks += blocks
        self._retired.device_underflows += underflows

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
        self._retire_device_counts()
        self._stream = None
        self._clear_sources()
        # Closing waits for PortAudio's thread to end; do not make the loop wait for it.
        threading.Thread(
            target=stream.close, kwargs={"ignore_errors": True}, name="audio-close", daemon=True
        ).start()
        if self._on_fault is not None:
            self._on_fault(AudioUnavailable(_DEVICE_LOST))


@dataclass
class _Counts:
    """What retired buffers and streams counted, kept in the player's totals."""

    played: int = 0
    callbacks: int = 0
    underruns: int = 0
    dropped: int = 0
    skips: int = 0
    device_underflows: int = 0

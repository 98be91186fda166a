"""One remote track's jitter buffer: steers a ring of samples that native code plays.

The ring itself (an `Outlet`) belongs to the device: PortAudio's callback, in C, takes a
block from it every few milliseconds, and stops playing it when it runs dry. Everything
that needs Python happens here, on the owner's asyncio loop, once per frame the call
hands over: the depth's trend, the resampling that absorbs clock drift, the volume, the
conversion to the device's float samples, and skipping what a stall left behind. So the
audio callback runs no Python at all, and a frame costs one pass of numpy work.
`snoop_tui.audio` owns the device and the rings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]
Float32Array = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]

FULL_SCALE = 32768.0  # int16 samples to the device's -1.0..1.0
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
STRETCH_SLEW_PER_S = 0.04  # the ratio moves at most 0.08 % per 20 ms frame: it glides
STRETCH_DEADBAND = 0.0005  # smaller corrections are not worth it: play the samples as they are
# The first start's cushion comes down by 2.5 ms a second: four seconds for half a frame,
# played 0.25 % faster meanwhile. The integral learns half a second after it is gone (the
# trend's time constant): following the cushion down is no clock mismatch to learn.
CUSHION_PER_S = 0.0025
LEARN_AFTER_S = 0.5
TREND_SLACK_S = 0.001  # a trend this close to the target is jitter: nothing to correct


class Outlet(Protocol):
    """Where a buffer's samples go: a ring that the device plays from until it runs dry."""

    def queued(self) -> int:
        """Samples written and not yet taken by the device."""

    def put(self, samples: Float32Array) -> None:
        """Append mono samples (the ring has room: the buffer keeps under its cap)."""

    def playing(self) -> bool:
        """The device is taking samples; False once it found the ring dry and stopped."""

    def play(self) -> None:
        """Start taking samples from what is queued."""

    def discard(self, n: int) -> None:
        """Let the oldest `n` queued samples go (only while not playing)."""


class JitterBuffer:
    """One track's samples on their way to the device, steered to a target depth.

    Playback starts once the depth stands where a write leaves it in steady play: `target`
    and half a frame. The producer's clock and the device's never agree exactly, so each
    frame is resampled slightly faster or slower (at most `STRETCH_LIMIT`, by linear
    interpolation, as WebRTC's NetEq stretches) to keep the depth's trend at the target;
    once the trend sits there, samples pass unchanged. Skipping is left for what
    stretching would take seconds to absorb: audio that would take the depth past `cap`
    is dropped, and when the depth has stood above its high water mark for a second (the
    backlog a stall leaves), new audio is dropped until the depth is back at the target.
    When the device finds the ring dry, it stops; the buffer counts an underrun and
    primes again.
    """

    def __init__(
        self,
        rate: int,
        target_ms: float,
        cap_ms: float,
        outlet: Outlet,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target = max(1, round(rate * target_ms / 1000))
        self.cap = max(self.target, round(rate * cap_ms / 1000))
        self._outlet = outlet
        self._rate = rate
        self._clock = clock
        # Above this the excess is a stall's backlog, not drift: stretching would take
        # seconds over it, so it is skipped instead (and the trend holds still meanwhile).
        self._high_water = max(2 * self.target, self.target + round(rate * _SHED_MARGIN_S))
        self._high_for = 0  # samples handed over while above the high water mark
        self._shedding = False  # dropping new audio until the depth is back at the target
        self._skipping = False  # the last frame was (partly) dropped: one skip, however many
        self._recover_after = rate  # one second above the mark, then skip back
        self._playing = False
        self._started = False  # played at least once (a start after it keeps no cushion)
        self._cushion = 0.0  # samples over `target` the steering aims at, for a while
        self._last_write: float | None = None
        self._level = float(self.target)  # the depth's trend, in samples
        self._drift = 0.0  # the integral term; settles on the clocks' mismatch
        self._learn_after = 0  # samples to hand over, once the cushion is gone, before it learns
        self._ratio = 1.0  # input samples played per output sample
        # Where the next output sample lies, counted from the last sample of the previous
        # frame (kept as `_carry`): 1.0 is the new frame's first sample.
        self._t = 1.0
        self._carry = 0.0
        self._source: Float64Array = np.zeros(0, dtype=np.float64)
        self._out: Float32Array = np.zeros(0, dtype=np.float32)
        self.written = 0  # samples handed to the outlet in all
        self.playing_from = 0  # where in them the device's latest start began
        self.ratio_low = self.ratio_high = 1.0  # the range the ratio has covered
        self.underruns = 0
        self.dropped = 0  # samples skipped unplayed
        self.skips = 0  # times it skipped

    @property
    def depth(self) -> int:
        """Samples queued for the device and not yet taken."""
        return self._outlet.queued()

    @property
    def played(self) -> int:
        """Samples gone from the ring: taken by the device (or let go at a start)."""
        return self.written - self._outlet.queued()

    @property
    def ratio(self) -> float:
        """Input samples played per output sample: above 1 while draining a surplus."""
        return self._ratio

    @property
    def learned_drift(self) -> float:
        """The clock mismatch the steering has learned: the producer this much faster."""
        return self._drift

    def write(self, pcm: Int16Array, gain: float = 1.0) -> None:
        """Hand over one frame of mono samples, played at `gain` (0 keeps it draining, silent)."""
        n = len(pcm)
        if n == 0:
            return
        outlet = self._outlet
        queued = outlet.queued()
        if self._playing and not outlet.playing():  # the device found the ring dry
            self.underruns += 1
            self._playing = False
        now = self._clock()
        last, self._last_write = self._last_write, now
        span = n / self._rate
        if last is not None and now > last:
            span = min(now - last, 4 * span)  # a late frame: the trend moves by the time it took
        if self._playing and queued > self._high_water:
            # A stall's backlog: hold the ratio, and skip it if it lasts.
            self._high_for += n
            if self._high_for >= self._recover_after:
                self._shedding = True
        else:
            self._high_for = 0
            self._steer(queued, n, span)
        out = self._resample(pcm, gain)
        keep = self._room(queued, len(out))
        if keep < len(out):
            self.dropped += len(out) - keep
            if not self._skipping:
                self.skips += 1
            self._skipping = True
            self._level = queued + keep - n / 2  # the trend starts afresh from what is left
        else:
            self._skipping = False
        if keep:
            outlet.put(out[len(out) - keep :])
            self.written += keep
        # Start once the depth would not run dry before the next frame comes: half a frame
        # over the target. The first start keeps half a frame more, a cushion for the first
        # frames, which come less evenly while the call's audio starts up; the steering's
        # target starts that much higher and comes down to `target` at CUSHION_PER_S, too
        # gently to hear, and the integral learns only after that. A start after an
        # underrun keeps no cushion, and the integral goes on learning: running dry may be
        # the very mismatch it is there to learn. Nothing plays the ring while it primes,
        # so the oldest audio past the start's depth is let go.
        start = self.target + n // 2
        if not self._playing and queued + keep >= start:
            cushion = 0 if self._started else n // 2
            let_go = max(0, queued + keep - start - cushion)
            outlet.discard(let_go)
            self.playing_from = self.written - (queued + keep - let_go)
            outlet.play()
            self._playing = self._started = True
            if cushion:
                self._cushion = float(cushion)
                self._level = float(self.target + cushion)
                self._learn_after = round(self._rate * LEARN_AFTER_S)

    def _room(self, queued: int, wanted: int) -> int:
        """How many of this frame's `wanted` samples to queue; the newest are kept."""
        keep = wanted
        if self._shedding:
            # Back to the target on average: half a frame over it right after a write.
            keep = max(0, min(wanted, self.target + wanted // 2 - queued))
            if keep:
                self._shedding = False
                self._high_for = 0
        return max(0, min(keep, self.cap - queued))

    def _steer(self, queued: int, n: int, span: float) -> None:
        """Move the ratio one small step towards what the depth's trend asks for."""
        # The depth just before a write is the bottom of a sawtooth a frame deep: half a
        # frame more is its average.
        even = queued + n / 2
        self._level += (even - self._level) * min(1.0, span / TREND_S)
        if not self._playing:  # priming: the trend sees how dry it ran, the ratio waits
            return
        if self._cushion > 0:
            self._cushion = max(0.0, self._cushion - self._rate * span * CUSHION_PER_S)
        excess_s = (self._level - self.target - self._cushion) / self._rate
        excess_s -= min(TREND_SLACK_S, max(-TREND_SLACK_S, excess_s))
        push = STRETCH_PER_S * excess_s + self._drift
        if self._learn_after > 0:
            if not self._cushion:
                self._learn_after -= n
        elif STRETCH_DEADBAND <= abs(push) < STRETCH_LIMIT:
            # Only a controller that acts, unsaturated, learns the drift: a backlog drained
            # at full stretch says nothing about the clocks (learning from it would
            # overshoot), and an error too small to act on would only wind it up.
            self._drift += STRETCH_PER_S2 * excess_s * span
        want = 1.0 + min(STRETCH_LIMIT, max(-STRETCH_LIMIT, push))
        if abs(want - 1.0) < STRETCH_DEADBAND:
            want = self._landing(n)
        step = STRETCH_SLEW_PER_S * n / self._rate
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

    def _landing(self, n: int) -> float:
        """The ratio that ends this frame on a whole sample, from where copying resumes."""
        t = self._t
        if t == 1.0:
            return 1.0
        return 1.0 + (1.0 - t) / n  # n outputs, the next one on the next frame's first sample

    def _resample(self, pcm: Int16Array, gain: float) -> Float32Array:
        """The frame's output samples, as the device's floats at `gain`."""
        n = len(pcm)
        ratio, t = self._ratio, self._t
        scale = gain / FULL_SCALE
        self._carry, carried = float(pcm[-1]), self._carry
        if ratio == 1.0 and t == 1.0:  # in step: the samples as they are
            out = self._scratch(n)
            np.multiply(pcm, scale, out=out, casting="unsafe")
            return out
        source = self._source_for(carried, pcm)
        count = int((n - t) / ratio) + 1  # every position t + k * ratio up to n
        positions = t + ratio * np.arange(count, dtype=np.float64)
        whole = np.floor(positions)
        weight = positions - whole
        index = whole.astype(np.intp)
        left = source[index]
        right = source[np.minimum(index + 1, n)]
        out = self._scratch(count)
        np.multiply(left + (right - left) * weight, scale, out=out, casting="unsafe")
        t_next = t + count * ratio - n
        if abs(t_next - round(t_next)) < 1e-9:
            t_next = float(round(t_next))
        self._t = t_next
        return out

    def _source_for(self, carried: float, pcm: Int16Array) -> Float64Array:
        """The previous frame's last sample (`carried`), then this frame's."""
        n = len(pcm)
        if len(self._source) < n + 1:
            self._source = np.zeros(n + 1, dtype=np.float64)
        source = self._source[: n + 1]
        source[0] = carried
        source[1:] = pcm
        return source

    def _scratch(self, n: int) -> Float32Array:
        if len(self._out) < n:
            self._out = np.zeros(2 * n, dtype=np.float32)
        return self._out[:n]

"""One remote track's jitter buffer: a preallocated ring that smooths jitter and clock drift.

Single producer (the owner's asyncio loop, pushing LiveKit's frames), single consumer
(PortAudio's callback thread, reading a block at a time); no lock. The producer alone
writes `_claimed`, `_floor`, `_w` and when its last write landed; the consumer alone
writes `_r` and everything that steers playback (the depth's trend, the resampling ratio
and phase, the counters); under the GIL each assignment is atomic, and the consumer's
arrays are all allocated before it runs. `snoop_tui.audio` owns the device and mixes
the buffers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]
Float64Array = npt.NDArray[np.float64]

SCRATCH_FRAMES = 8192
"""The largest block the consumer is ready for without allocating (grown if ever asked)."""
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
# Priming overshoots the target by up to a frame, and the trend (0.5 s) takes a while to
# follow the proportional term draining it: not a drift to learn. After one second the
# integral learned a clock mismatch of 0.03 % that was not there (20 ms frames), just
# under the dead band; after two it learns none.
LEARN_AFTER_S = 2.0
TREND_SLACK_S = 0.001  # a trend this close to the target is jitter: nothing to correct


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
        self._scratch: Int16Array = np.zeros(SCRATCH_FRAMES, dtype=np.int16)
        self._interpolator = _Interpolator(SCRATCH_FRAMES)
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

    @property
    def learned_drift(self) -> float:
        """The clock mismatch the steering has learned: the producer this much faster."""
        return self._drift

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

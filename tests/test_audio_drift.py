"""Drift absorption in the jitter buffer, in simulated time: no device, no wall clock.

A producer hands over frames as long as the call's on its own clock and the "device" takes
5 ms blocks from the buffer's ring on another, as the player's C callback does; the buffer
gets the simulated time as its clock, so every run is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pytest

from snoop_tui.audio import FRAME_MS, TARGET_MS, AudioPlayer
from snoop_tui.audio_output import DEVICE_BLOCK_S
from snoop_tui.jitter import FULL_SCALE, STRETCH_LIMIT, STRETCH_SLEW_PER_S, JitterBuffer
from tests.fixtures_audio import SimOutlet, band_energy, drift_events

RATE = 48000
FRAME = RATE * FRAME_MS // 1000  # the call's frames
BLOCK = round(RATE * DEVICE_BLOCK_S)  # what the player asks PortAudio for
MS = RATE // 1000
SETTLED = round((TARGET_MS + FRAME_MS / 2 + 5) * MS)
"""The most a settled buffer holds: a frame just in, around the target, and a little."""


class SimClock:
    """The buffer's clock, moved by the simulation."""

    now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Run:
    """What the device side saw, one entry per block read."""

    depths: list[int] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    played: list[npt.NDArray[np.int16]] = field(default_factory=list)


def events(
    drift: float, seconds: float, stall: tuple[float, float] | None = None
) -> Iterator[tuple[bool, float]]:
    """The call's frames against the player's blocks, the producer `drift` fast."""
    return drift_events(FRAME, BLOCK, RATE, drift, seconds, stall)


def simulate(
    drift: float,
    seconds: float,
    *,
    signal: Callable[[int], npt.NDArray[np.int16]] | None = None,
    stall: tuple[float, float] | None = None,
    keep_from: float = 0.0,
) -> tuple[JitterBuffer, Run]:
    """Run a buffer with AudioPlayer's target and cap; keep played audio after `keep_from`."""
    clock = SimClock()
    player = AudioPlayer()
    outlet = SimOutlet()
    buffer = JitterBuffer(RATE, player._target_ms, player._cap_ms, outlet, clock=clock)
    silence = np.zeros(FRAME, dtype=np.int16)
    run = Run()
    k = 0
    for is_producer, clock.now in events(drift, seconds, stall):
        if is_producer:
            buffer.write(silence if signal is None else signal(k))
            k += 1
            continue
        samples = outlet.take(BLOCK)
        run.depths.append(buffer.depth)
        run.ratios.append(buffer.ratio)
        if signal is not None and clock.now >= keep_from:
            run.played.append(np.round(samples * FULL_SCALE).astype(np.int16))
    return buffer, run


@pytest.mark.parametrize("drift", [0.01, -0.01])
def test_a_producer_1_percent_off_for_ten_minutes_plays_every_sample_within_60_ms(
    drift: float,
) -> None:
    buffer, run = simulate(drift, 600.0)
    assert buffer.dropped == 0 and buffer.skips == 0
    assert buffer.underruns == 0
    assert max(run.depths) <= 60 * MS
    last_minute = slice(-len(run.ratios) // 10, None)
    # It has learned the mismatch: the last minute plays at the producer's rate, with the
    # depth back where it started (after a block's read: the target less a block or so).
    assert float(np.mean(run.ratios[last_minute])) == pytest.approx(1 + drift, abs=0.0005)
    assert buffer.learned_drift == pytest.approx(drift, abs=0.0005)
    depth = float(np.mean(run.depths[last_minute]))
    assert TARGET_MS * MS - 2 * BLOCK <= depth <= TARGET_MS * MS


def test_a_producer_in_step_teaches_no_drift_and_plays_unstretched_once_settled() -> None:
    """The first start's cushion comes down gently over four seconds; following it is no
    clock mismatch to remember (which would leave the buffer stretching for the call)."""
    buffer, run = simulate(0.0, 60.0)
    assert buffer.learned_drift == 0.0
    settled = round(6.0 * RATE / BLOCK)  # reads in the first six seconds
    assert set(run.ratios[settled:]) == {1.0}
    assert max(abs(r - 1.0) for r in run.ratios[:settled]) < 0.005  # gently: under 0.5 %


@pytest.mark.parametrize("drift", [0.01, -0.01, 0.0])
def test_the_ratio_stays_within_2_percent_and_glides_in_small_steps(drift: float) -> None:
    _, run = simulate(drift, 60.0, stall=(20.0, 0.03))  # and a small stall on the way
    ratios = np.array(run.ratios)
    assert np.all(np.abs(ratios - 1.0) <= STRETCH_LIMIT + 1e-12)
    step = STRETCH_SLEW_PER_S * FRAME / RATE  # 0.08 % per 20 ms frame
    assert float(np.abs(np.diff(ratios)).max()) <= step + 1e-12


def test_once_the_clocks_agree_samples_play_unchanged() -> None:
    """After the start-up transient, a producer in step is copied bit for bit."""
    counter = np.arange(60 * RATE, dtype=np.int64) % 30000

    def ramp(k: int) -> npt.NDArray[np.int16]:
        return counter[k * FRAME : (k + 1) * FRAME].astype(np.int16)

    buffer, run = simulate(0.0, 30.0, signal=ramp, keep_from=20.0)
    assert buffer.ratio == 1.0
    played = np.concatenate(run.played).astype(np.int64)
    assert np.all(np.diff(played) % 30000 == 1)  # consecutive input samples, none altered


@pytest.mark.parametrize("drift", [0.01, -0.01])
def test_a_tone_stretched_to_absorb_drift_stays_clean(drift: float) -> None:
    hz = 1000.0

    def tone(k: int) -> npt.NDArray[np.int16]:
        t = (k * FRAME + np.arange(FRAME)) / RATE
        return np.round(12000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)

    _, run = simulate(drift, 22.0, signal=tone, keep_from=20.0)
    ratios = np.array(run.ratios[-len(run.played) :])
    assert np.all(np.abs(ratios - 1.0) > 0.005)  # it is stretching throughout
    played = np.concatenate(run.played)
    heard_hz = hz * float(ratios.mean())  # a stretch shifts the pitch by the ratio
    assert band_energy(played, RATE, heard_hz, half_width=10.0) > 0.99
    steepest = 12000 * 2 * np.pi * hz / RATE * 1.03  # the tone's own slope, plus the stretch
    assert float(np.abs(np.diff(played.astype(np.int32))).max()) <= steepest + 2  # no clicks


def test_a_device_stall_backlog_is_still_skipped_within_about_a_second() -> None:
    stall_at, stall_s = 30.0, 0.1  # 125 ms queued: under the cap, far over the target
    buffer, run = simulate(0.0, 40.0, stall=(stall_at, stall_s))
    reads_per_s = RATE // BLOCK
    after = int(stall_at * reads_per_s)
    assert buffer.skips == 1
    assert buffer.dropped == pytest.approx(stall_s * RATE, abs=10 * MS)
    assert max(run.depths[after + round(1.2 * reads_per_s) :]) <= SETTLED
    assert buffer.underruns == 0


def test_a_short_backlog_is_played_out_faster_not_skipped() -> None:
    buffer, run = simulate(0.0, 40.0, stall=(30.0, 0.03))
    after = int(33.0 * RATE / BLOCK)  # three seconds later
    assert buffer.skips == 0 and buffer.dropped == 0 and buffer.underruns == 0
    assert max(run.depths[after:]) <= SETTLED
    assert max(run.ratios) > 1.01  # it stretched to get there

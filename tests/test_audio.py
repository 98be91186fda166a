"""Playback through a real PortAudio stream into a PulseAudio null sink, heard at its monitor."""

from __future__ import annotations

import asyncio
import builtins
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from snoop_tui import audio as audio_module
from snoop_tui.audio import FRAME_MS, AudioPlayer, OutputDevice, list_output_devices, mix
from snoop_tui.errors import AudioUnavailable
from snoop_tui.jitter import JitterBuffer
from tests.fixtures_audio import NullSink, band_energy, peak

CALLER, AGENT = "TR_caller", "TR_agent"
CALLER_HZ, AGENT_HZ = 440.0, 660.0
FRAME_S = FRAME_MS / 1000  # as the call hands frames to the player


class Tone:
    """A continuous sine for one track, cut into frames the way the call hands them over."""

    def __init__(self, freq: float, rate: int, amplitude: float = 0.25) -> None:
        self._step = 2 * np.pi * freq / rate
        self._phase = 0.0
        self._amplitude = amplitude * 32767
        self._frame = round(rate * FRAME_S)

    def next_frame(self) -> npt.NDArray[np.int16]:
        phases = self._phase + self._step * np.arange(self._frame)
        self._phase = float(phases[-1] + self._step) % (2 * np.pi)
        frame: npt.NDArray[np.int16] = (self._amplitude * np.sin(phases)).astype(np.int16)
        return frame


def feed(
    player: AudioPlayer, tones: dict[str, float], seconds: float, speed: float = 1.0
) -> list[float]:
    """Push each track's frames at `speed` x real time; returns depth_ms seen after each push."""
    sources = {sid: Tone(freq, player.sample_rate) for sid, freq in tones.items()}
    depths: list[float] = []
    start = time.monotonic()
    frames = round(seconds / FRAME_S * speed)
    for i in range(frames):
        for sid, tone in sources.items():
            player.push(sid, tone.next_frame())
        depths.append(player.stats.depth_ms)
        delay = start + (i + 1) * FRAME_S / speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return depths


@pytest.fixture
def player(null_sink: NullSink) -> Iterator[AudioPlayer]:
    audio = AudioPlayer()
    yield audio
    audio.close()


def test_nothing_plays_and_no_stream_exists_before_open(
    null_sink: NullSink, player: AudioPlayer
) -> None:
    with null_sink.recording() as rec:
        for _ in range(30):
            player.push(CALLER, np.full(480, 20000, dtype=np.int16))
            time.sleep(FRAME_S)
    assert not player.is_open
    assert player.sample_rate == 48000
    assert player.stats.callbacks == 0 and player.stats.sources == 0
    assert len(rec.samples) > 0
    assert peak(rec.samples) == 0
    assert null_sink.pactl("list", "short", "sink-inputs").strip() == ""


def test_caller_and_agent_tones_both_reach_the_sink(
    null_sink: NullSink, player: AudioPlayer
) -> None:
    player.open()
    player.open()  # idempotent
    assert player.is_open
    assert player.sample_rate == 48000  # LiveKit's rate, though PortAudio's default is 44.1k
    assert list_default_output().default_samplerate == 44100
    with null_sink.recording() as rec:
        feed(player, {CALLER: CALLER_HZ, AGENT: AGENT_HZ}, 0.6)
        midway = player.stats.frames_played
        feed(player, {CALLER: CALLER_HZ, AGENT: AGENT_HZ}, 0.6)
    assert band_energy(rec.samples, rec.rate, CALLER_HZ) > 0.2
    assert band_energy(rec.samples, rec.rate, AGENT_HZ) > 0.2
    assert 0 < midway < player.stats.frames_played
    assert player.stats.sources == 2


def test_close_silences_the_sink_and_stops_playing(
    null_sink: NullSink, player: AudioPlayer
) -> None:
    player.open()
    feed(player, {CALLER: CALLER_HZ}, 0.4)
    player.close()
    played = player.stats.frames_played
    assert played > 0
    assert not player.is_open and player.stats.sources == 0
    with null_sink.recording() as rec:
        feed(player, {CALLER: CALLER_HZ}, 0.4)
    assert peak(rec.samples) == 0
    assert player.stats.frames_played == played
    player.close()  # idempotent


def test_focus_on_caller_leaves_only_the_caller_audible(
    null_sink: NullSink, player: AudioPlayer
) -> None:
    player.open()
    player.set_focus({CALLER})
    feed(player, {CALLER: CALLER_HZ, AGENT: AGENT_HZ}, 0.3)  # let the focus settle in
    with null_sink.recording() as rec:
        feed(player, {CALLER: CALLER_HZ, AGENT: AGENT_HZ}, 0.8)
    assert band_energy(rec.samples, rec.rate, CALLER_HZ) > 0.5
    assert band_energy(rec.samples, rec.rate, AGENT_HZ) < 0.01


def test_volume_scales_what_reaches_the_sink(null_sink: NullSink, player: AudioPlayer) -> None:
    player.open()
    feed(player, {CALLER: CALLER_HZ}, 0.2)
    with null_sink.recording() as loud:
        feed(player, {CALLER: CALLER_HZ}, 0.5)
    player.set_volume(0.0)
    feed(player, {CALLER: CALLER_HZ}, 0.3)
    with null_sink.recording() as muted:
        feed(player, {CALLER: CALLER_HZ}, 0.5)
    assert peak(loud.samples) > 5000
    assert peak(muted.samples) == 0


def test_mixing_full_scale_sources_saturates_instead_of_wrapping() -> None:
    n = 64
    acc = np.zeros(2 * n, dtype=np.float32)
    out = np.zeros(n, dtype=np.int16)
    high = np.full(n, 32767, dtype=np.int16)
    low = np.full(n, -32768, dtype=np.int16)
    wave = (np.sin(np.linspace(0, 8 * np.pi, n)) * 32767).astype(np.int16)

    mix([high, high], 1.0, out, acc)
    assert (out == 32767).all()
    mix([low, low], 1.0, out, acc)
    assert (out == -32767).all()
    mix([high, high], 2.0, out, acc)
    assert (out == 32767).all()
    mix([wave, wave, wave], 2.0, out, acc)
    assert (np.sign(out) == np.sign(wave)).all()
    assert np.abs(out.astype(np.int32)).max() == 32767
    mix([high[: n // 2]], 1.0, out, acc)  # a short frame leaves silence after it
    assert (out[: n // 2] == 32767).all() and (out[n // 2 :] == 0).all()


def still() -> float:
    """A clock that never moves: these tests step the buffer by hand."""
    return 0.0


def test_jitter_buffer_waits_for_target_then_drops_oldest_past_cap() -> None:
    buffer = JitterBuffer(rate=1000, target_ms=40, cap_ms=150, clock=still)  # 40, 150 samples
    buffer.write(np.arange(30, dtype=np.int16))
    assert len(buffer.read(10)) == 0  # still priming
    buffer.write(np.arange(30, 60, dtype=np.int16))
    assert buffer.read(10).tolist() == list(range(10))
    buffer.write(np.arange(60, 260, dtype=np.int16))  # way past the cap
    assert buffer.depth <= 150
    assert buffer.read(10).tolist() == list(range(220, 230))  # back to target, newest kept
    assert buffer.dropped == 260 - 40 - 10
    assert buffer.underruns == 0


def test_jitter_buffer_sheds_a_lasting_backlog_back_to_target() -> None:
    buffer = JitterBuffer(rate=1000, target_ms=40, cap_ms=150, clock=still)  # high water: 80
    buffer.write(np.zeros(120, dtype=np.int16))  # a stall left 120 ms queued, under the cap
    depths = []
    for _ in range(150):  # 1.5 s of a producer exactly in step with the device
        buffer.write(np.zeros(10, dtype=np.int16))
        buffer.read(10)
        depths.append(buffer.depth)
    assert depths[0] > 80  # the backlog is played for a while ...
    assert max(depths[-30:]) <= 40  # ... then latency is back at the target
    assert 70 <= buffer.dropped <= 90 and buffer.underruns == 0


def test_jitter_buffer_counts_one_underrun_then_reprimes() -> None:
    buffer = JitterBuffer(rate=1000, target_ms=40, cap_ms=150, clock=still)
    buffer.write(np.ones(45, dtype=np.int16))
    assert len(buffer.read(40)) == 40
    assert len(buffer.read(10)) == 5
    assert buffer.underruns == 1
    buffer.write(np.ones(20, dtype=np.int16))
    assert len(buffer.read(10)) == 0  # re-priming: no second underrun
    assert buffer.underruns == 1


def test_pushing_faster_than_real_time_stays_under_cap_and_drops(null_sink: NullSink) -> None:
    player = AudioPlayer(target_ms=40, cap_ms=150)
    player.open()
    try:
        depths = feed(player, {CALLER: CALLER_HZ, AGENT: AGENT_HZ}, 1.5, speed=2.0)
        assert max(depths) <= 150.0
        assert player.stats.dropped_samples > 0
    finally:
        player.close()


def test_pushing_slower_than_real_time_counts_underruns(
    null_sink: NullSink, player: AudioPlayer
) -> None:
    player.open()
    feed(player, {CALLER: CALLER_HZ}, 0.75, speed=0.5)
    stats = player.stats
    assert stats.underruns > 0
    assert stats.dropped_samples == 0


def test_removed_source_stops_being_mixed(null_sink: NullSink, player: AudioPlayer) -> None:
    player.open()
    feed(player, {CALLER: CALLER_HZ, AGENT: AGENT_HZ}, 0.3)
    player.remove_source(AGENT)
    player.remove_source("TR_never_seen")
    with null_sink.recording() as rec:
        feed(player, {CALLER: CALLER_HZ}, 0.6)
    assert player.stats.sources == 1
    assert band_energy(rec.samples, rec.rate, AGENT_HZ) < 0.01


def test_unknown_device_name_raises_readable_error(null_sink: NullSink) -> None:
    player = AudioPlayer(device="Headset That Is Not Plugged In")
    with pytest.raises(AudioUnavailable) as caught:
        player.open()
    message = str(caught.value)
    assert "Headset That Is Not Plugged In" in message
    assert "default" in message  # names the outputs that do exist
    assert "Traceback" not in message
    assert not player.is_open


def test_missing_portaudio_raises_audio_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def import_without_portaudio(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", import_without_portaudio)
    with pytest.raises(AudioUnavailable, match="PortAudio"):
        AudioPlayer().open()
    with pytest.raises(AudioUnavailable, match="libportaudio2"):
        list_output_devices()


def test_audio_module_imports_neither_sounddevice_nor_textual() -> None:
    code = (
        "import sys, snoop_tui.audio; "
        "assert 'sounddevice' not in sys.modules; assert 'textual' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_output_devices_list_the_null_sinks_default(null_sink: NullSink) -> None:
    devices = list_output_devices()
    default = list_default_output()
    assert all(isinstance(d, OutputDevice) and d.channels > 0 for d in devices)
    assert default.name in {"default", "pulse"}
    assert default.default_samplerate > 0


async def test_unplugged_output_mid_call_closes_the_player_and_reports_a_fault(
    null_sink: NullSink,
) -> None:
    faults: list[tuple[AudioUnavailable, str]] = []
    reported = asyncio.Event()

    def on_fault(error: AudioUnavailable) -> None:
        faults.append((error, threading.current_thread().name))
        reported.set()

    player = AudioPlayer(on_fault=on_fault)
    try:
        player.open()
        feed(player, {CALLER: CALLER_HZ}, 0.3)
        with null_sink.unplugged():
            await asyncio.wait_for(reported.wait(), 5)
        assert not player.is_open
        assert player.stats.sources == 0
        error, thread = faults[0]
        assert "audio output stopped" in str(error)
        assert thread == threading.current_thread().name  # the loop's, not PortAudio's
        player.push(CALLER, np.zeros(480, dtype=np.int16))  # harmless once closed
        player.open()  # and listening can start again
        assert player.is_open
    finally:
        player.close()
    assert len(faults) == 1


def test_unplugged_output_without_a_loop_is_reported_on_the_owners_next_call(
    null_sink: NullSink,
) -> None:
    faults: list[str] = []
    player = AudioPlayer(on_fault=lambda error: faults.append(threading.current_thread().name))
    try:
        player.open()
        feed(player, {CALLER: CALLER_HZ}, 0.3)
        with null_sink.unplugged():
            deadline = time.monotonic() + 5
            while player.is_open and time.monotonic() < deadline:
                time.sleep(0.02)
        assert not player.is_open
        assert faults == [] and player.stats.sources == 1  # PortAudio's thread only noted it
        player.push(CALLER, np.zeros(480, dtype=np.int16))
        assert faults == [threading.current_thread().name]
        assert player.stats.sources == 0
    finally:
        player.close()


class StandInStream:
    """Just enough of `sounddevice.OutputStream` to end a stream from another thread."""

    def __init__(self, finished_callback: Callable[[], None], **options: Any) -> None:
        self.finished_callback = finished_callback
        self.closed = threading.Event()

    def start(self) -> None:
        pass

    def abort(self, ignore_errors: bool = False) -> None:
        pass

    def close(self, ignore_errors: bool = False) -> None:
        self.closed.set()


class StandInSoundDevice:
    """A `sounddevice` module with one output device and streams that never play."""

    PortAudioError = RuntimeError

    def __init__(self, rates: tuple[int, ...] = (44100, 48000)) -> None:
        self.streams: list[StandInStream] = []
        self.options: list[dict[str, Any]] = []
        self.rates = rates  # what the device accepts; the first is its default

    def query_devices(self, device: object = None, kind: str = "") -> dict[str, Any]:
        return {
            "index": 0,
            "name": "stand-in",
            "max_output_channels": 2,
            "default_samplerate": self.rates[0],
        }

    def check_output_settings(self, samplerate: int = 0, **settings: Any) -> None:
        if samplerate not in self.rates:
            raise self.PortAudioError("Invalid sample rate [PaErrorCode -9997]")

    def OutputStream(self, **options: Any) -> StandInStream:
        self.options.append(options)
        stream = StandInStream(**options)
        self.streams.append(stream)
        return stream


@pytest.mark.parametrize(
    ("accepted", "opened"), [((44100, 48000), 48000), ((44100,), 44100), ((32000,), 32000)]
)
def test_the_output_opens_at_48_khz_where_the_device_takes_it(
    monkeypatch: pytest.MonkeyPatch, accepted: tuple[int, ...], opened: int
) -> None:
    portaudio = StandInSoundDevice(rates=accepted)
    monkeypatch.setattr(audio_module, "import_sounddevice", lambda: portaudio)
    player = AudioPlayer()
    player.open()
    try:
        assert player.sample_rate == opened
        options = portaudio.options[-1]
        assert options["samplerate"] == opened
        assert options["blocksize"] == round(opened * audio_module.DEVICE_BLOCK_S)
    finally:
        player.close()


class WatchedPlayer(AudioPlayer):
    """Records which thread assigns each of the player's fields."""

    def __setattr__(self, name: str, value: Any) -> None:
        writes = self.__dict__.setdefault("writes", [])
        writes.append((name, threading.current_thread().name))
        super().__setattr__(name, value)


async def test_stream_that_ends_by_itself_is_retired_by_the_loop_not_portaudios_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    portaudio = StandInSoundDevice()
    monkeypatch.setattr(audio_module, "import_sounddevice", lambda: portaudio)
    faults: list[str] = []
    player = WatchedPlayer(on_fault=lambda error: faults.append(threading.current_thread().name))
    player.open()
    player.push(CALLER, np.zeros(480, dtype=np.int16))
    stream = portaudio.streams[-1]

    ended = threading.Thread(target=stream.finished_callback, name="portaudio")
    ended.start()
    ended.join()
    writes: list[tuple[str, str]] = player.__dict__["writes"]
    assert {name for name, thread in writes if thread == "portaudio"} == {"_finished"}
    assert not player.is_open and player.stats.sources == 1 and faults == []

    await asyncio.sleep(0)  # the loop runs what PortAudio's thread handed it
    assert faults == [threading.current_thread().name]
    assert player.stats.sources == 0 and not player.is_open
    assert stream.closed.wait(5)
    assert {name for name, thread in writes if thread == "portaudio"} == {"_finished"}
    player.open()  # a new stream, and the old one's end does not count against it
    assert player.is_open and len(portaudio.streams) == 2
    player.close()
    assert faults == [threading.current_thread().name]


def list_default_output() -> OutputDevice:
    return next(d for d in list_output_devices() if d.is_default)

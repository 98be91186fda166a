"""Playback through a real PortAudio stream into a PulseAudio null sink, heard at its monitor."""

from __future__ import annotations

import asyncio
import builtins
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from snoop_tui import audio as audio_module
from snoop_tui.audio import FRAME_MS, AudioPlayer
from snoop_tui.audio_output import DEVICE_BLOCK_S, OutputDevice, list_output_devices
from snoop_tui.errors import AudioUnavailable
from snoop_tui.jitter import JitterBuffer
from tests.fixtures_audio import NullSink, SimOutlet, band_energy, peak

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


def test_two_loud_tracks_at_double_volume_saturate_instead_of_wrapping(
    null_sink: NullSink, player: AudioPlayer
) -> None:
    """Summed in the device's floats, full-scale voices clip at the top, never wrap round."""
    player.open()
    player.set_volume(2.0)
    loud = np.full(round(player.sample_rate * FRAME_S), 30000, dtype=np.int16)
    with null_sink.recording() as rec:
        start = time.monotonic()
        for i in range(40):
            player.push(CALLER, loud)
            player.push(AGENT, loud)
            time.sleep(max(0.0, start + (i + 1) * FRAME_S - time.monotonic()))
    heard = rec.samples.astype(np.int32)
    playing = heard[heard != 0]
    assert len(playing) > rec.rate * 0.4
    # Four times full scale, clipped at the top: it holds there (the sink's resampling to
    # the recording's rate rings a little at the start and end of the burst) ...
    assert float(np.mean(playing >= 32700)) > 0.9
    assert heard.max() == 32767
    # ... and never wraps round to the bottom.
    assert heard.min() > -8000


def still() -> float:
    """A clock that never moves: these tests step the buffer by hand."""
    return 0.0


def test_jitter_buffer_starts_at_its_target_then_drops_newest_past_cap() -> None:
    outlet = SimOutlet()
    buffer = JitterBuffer(rate=1000, target_ms=40, cap_ms=150, outlet=outlet, clock=still)
    first = np.arange(1, 31, dtype=np.int16)
    buffer.write(first)
    assert not outlet.playing() and len(outlet.take(10)) == 0  # still priming
    # It starts once the depth would not run dry before the next frame (the target and
    # half a frame, 55); the first start keeps the rest as a cushion.
    buffer.write(np.arange(31, 61, dtype=np.int16))
    assert outlet.playing() and buffer.depth == 60
    buffer.write(np.full(200, 1000, dtype=np.int16))  # way past the cap
    assert buffer.depth == 150
    assert 100 <= buffer.dropped <= 115 and buffer.skips == 1
    taken = np.round(outlet.take(10) * 32768).astype(np.int16)
    assert taken.tolist() == first[:10].tolist()  # the oldest plays first, as it came
    assert buffer.underruns == 0


def test_jitter_buffer_counts_one_underrun_then_restarts_without_a_cushion() -> None:
    outlet = SimOutlet()
    buffer = JitterBuffer(rate=1000, target_ms=40, cap_ms=150, outlet=outlet, clock=still)
    frame = np.ones(20, dtype=np.int16)
    for _ in range(3):
        buffer.write(frame)
    assert outlet.playing() and buffer.depth == 60  # the first start's cushion: 10
    assert len(outlet.take(40)) == 40
    assert len(outlet.take(40)) == 20  # the device finds it dry, and stops
    buffer.write(frame)
    assert buffer.underruns == 1
    assert not outlet.playing() and len(outlet.take(10)) == 0  # priming again
    buffer.write(frame)
    buffer.write(frame)
    # Back at the depth a write leaves in steady play, the oldest 10 let go to get there.
    assert outlet.playing() and outlet.starts == 2 and buffer.depth == 50
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


def test_a_missing_mixer_package_says_to_reinstall_not_to_install_portaudio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def import_without_rtmixer(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "rtmixer":
            raise ModuleNotFoundError("No module named 'rtmixer'", name="rtmixer")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "rtmixer", raising=False)
    monkeypatch.setattr(builtins, "__import__", import_without_rtmixer)
    with pytest.raises(AudioUnavailable) as caught:
        AudioPlayer().open()
    message = str(caught.value)
    assert "rtmixer package is missing" in message and "Reinstall snoop-tui" in message
    assert "libportaudio2" not in message and "Traceback" not in message


def test_audio_module_imports_no_portaudio_library_nor_textual() -> None:
    code = (
        "import sys, snoop_tui.audio; assert 'sounddevice' not in sys.modules; "
        "assert 'rtmixer' not in sys.modules; assert 'textual' not in sys.modules"
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
    """Just enough of `rtmixer.Mixer` to end a stream from another thread."""

    def __init__(self, finished_callback: Callable[[], None], **options: Any) -> None:
        self.finished_callback = finished_callback
        self.closed = threading.Event()
        self.actions: set[object] = set()
        self._state = SimpleNamespace(stats=SimpleNamespace(blocks=0, output_underflows=0))

    def play_ringbuffer(self, ring: object) -> object:
        action = object()
        self.actions.add(action)
        return action

    def cancel(self, action: object) -> None:
        self.actions.discard(action)

    def start(self) -> None:
        pass

    def abort(self, ignore_errors: bool = False) -> None:
        pass

    def close(self, ignore_errors: bool = False) -> None:
        self.closed.set()


class StandInSoundDevice:
    """`sounddevice` and `rtmixer` in one: an output device, and streams that never play."""

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

    def RingBuffer(self, elementsize: int, size: int) -> Any:
        import rtmixer  # a plain ring in memory: no device

        return rtmixer.RingBuffer(elementsize, size)

    def Mixer(self, **options: Any) -> StandInStream:
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
    monkeypatch.setattr(audio_module, "import_rtmixer", lambda: portaudio)
    player = AudioPlayer()
    player.open()
    try:
        assert player.sample_rate == opened
        options = portaudio.options[-1]
        assert options["samplerate"] == opened
        assert options["blocksize"] == round(opened * DEVICE_BLOCK_S)
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
    monkeypatch.setattr(audio_module, "import_rtmixer", lambda: portaudio)
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

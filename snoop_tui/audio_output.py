"""The machine's audio outputs: PortAudio's modules, imported only when audio is first
needed, the devices a supervisor can choose, and how the player opens one.

No numpy and no stream here: `snoop-tui devices` and the doctor list outputs with this
alone, and a machine without libportaudio gets `AudioUnavailable` only when it asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from snoop_tui.errors import AudioUnavailable

# LiveKit decodes at 48 kHz: a device opened at that rate needs no resampling anywhere.
# PortAudio reports 44.1 kHz for ALSA's pulse/default device whatever the server runs at,
# so the device's default rate is only the fallback.
DEFAULT_SAMPLE_RATE = 48000
# 12 ms of device buffer asked for, which ALSA's pulse plugin rounds to about 15 ms at
# 48 kHz (20 ms became 30). With the callback in C, asking for 8 or 4 ms measured the same
# latency through the pulse plugin, and nothing here can tell what less would do on other
# sound stacks, so it stays at 12.
DEVICE_LATENCY_S = 0.012
# 5 ms blocks: with 10 ms ones a 20 ms buffer keeps too thin a cushion under the block
# being read, and a larger buffer costs latency.
DEVICE_BLOCK_S = 0.005

REINSTALL = "pip install --force-reinstall snoop-tui"
"""What puts back a package of ours that went missing."""

_NO_PORTAUDIO = (
    "The PortAudio library is not installed, so call audio cannot play. "
    "Install it (Debian/Ubuntu: sudo apt install libportaudio2) and try again."
)


def import_sounddevice() -> ModuleType:
    """Import sounddevice, turning a missing PortAudio library into `AudioUnavailable`."""
    return _import_portaudio_module("sounddevice")


def import_rtmixer() -> ModuleType:
    """Import rtmixer (its C callback plays the rings), as `import_sounddevice` does."""
    return _import_portaudio_module("rtmixer")


def _import_portaudio_module(name: str) -> ModuleType:
    try:
        module: ModuleType = __import__(name)
    except ModuleNotFoundError as exc:  # the package itself, not the library it loads
        raise AudioUnavailable(
            f"The {exc.name or name} package is missing, so call audio cannot play. "
            f"Reinstall snoop-tui ({REINSTALL}) and try again."
        ) from exc
    except (OSError, ImportError) as exc:
        raise AudioUnavailable(_NO_PORTAUDIO) from exc
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
    """How the player opens the output `info` describes: `rtmixer.Mixer`'s arguments but
    the finished callback (at most two channels, a short buffer in small blocks; the
    samples are always float32)."""
    channels = min(2, int(info["max_output_channels"]))
    rate = _device_rate(sd, info, channels)
    return {
        "device": int(info["index"]),
        "samplerate": rate,
        "channels": channels,
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
            dtype="float32",
        )
    except (ValueError, sd.PortAudioError):
        return int(info["default_samplerate"])
    return DEFAULT_SAMPLE_RATE

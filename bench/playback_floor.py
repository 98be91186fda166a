"""The cost of playing sound at all: a process that only plays silence, as our player opens
the device.

It opens PortAudio's default output as `snoop_tui.audio.AudioPlayer` does (rtmixer's
mixer, its callback in C, with the same rate, channels, latency and block size) and gives
it nothing to play, so the callback writes zeros: no LiveKit, no buffers, no Python.
`python -m bench` runs it beside the listening phase, so "the bare subscriber reading
audio plus this" is what any player of the call's audio would cost at the least, on this
machine's sound stack (PortAudio's ALSA device through the PulseAudio plugin).

It prints `playing T` (T on the monotonic clock) once the stream runs, then plays until
SIGTERM or until stdin closes.

    python -m bench.playback_floor
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

from snoop_tui.audio_output import import_rtmixer, import_sounddevice, stream_settings


def main() -> int:
    sd = import_sounddevice()
    settings = stream_settings(sd, dict(sd.query_devices(kind="output")))

    done = threading.Event()

    def until_stdin_closes() -> None:
        sys.stdin.read()
        done.set()

    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=until_stdin_closes, daemon=True).start()
    mixer: Any = import_rtmixer().Mixer(**settings)
    with mixer:
        print(f"playing {time.monotonic()}", flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Routes the call's remote audio tracks into the player: one pump per track while listening.

While muted nothing is decoded: a track's `rtc.AudioStream` exists only while
listening, so muting costs no CPU and opens no device. Focus (agent only, caller
only, both) and volume are the player's; this module knows which track is whose.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import numpy as np
from livekit import rtc

from snoop_tui.audio import FRAME_MS, AudioPlayer
from snoop_tui.errors import AudioUnavailable
from snoop_tui.transcript import Role

VOLUME_STEP = 0.1


def _device(name: str | None) -> int | str | None:
    """A device given as digits is an index, as `snoop-tui devices` lists them."""
    return int(name) if name is not None and name.isdigit() else name


class CallAudio:
    """The session's audio: which tracks exist, whose they are, and whether we play them."""

    def __init__(
        self, output_device: str | None, on_fault: Callable[[AudioUnavailable], None]
    ) -> None:
        self.player = AudioPlayer(_device(output_device), on_fault=on_fault)
        self.focus: Role | None = None
        self.volume = 1.0
        self._tracks: dict[str, tuple[rtc.RemoteAudioTrack, Role]] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._playing = False

    @property
    def playing(self) -> bool:
        return self._playing

    def add_track(self, track: rtc.RemoteAudioTrack, role: Role) -> None:
        self._tracks[track.sid] = (track, role)
        self._apply_focus()
        if self._playing:
            self._start_pump(track)

    def remove_track(self, sid: str) -> None:
        self._tracks.pop(sid, None)
        pump = self._pumps.pop(sid, None)
        if pump is not None:
            pump.cancel()

    async def forget_tracks(self) -> None:
        """The room went away (a rejoin follows): drop its tracks, keep the device open."""
        self._tracks.clear()
        await self._stop_pumps()

    def start(self) -> None:
        """Open the output and play every track. Raises `AudioUnavailable`."""
        if self._playing:
            return
        self.player.open()
        self.player.set_volume(self.volume)
        self._apply_focus()
        self._playing = True
        for track, _role in self._tracks.values():
            self._start_pump(track)

    async def stop(self) -> None:
        if not self._playing:
            return
        self._playing = False
        await self._stop_pumps()
        self.player.close()

    def set_focus(self, role: Role | None) -> None:
        self.focus = role
        self._apply_focus()

    def change_volume(self, steps: int) -> float:
        self.volume = round(min(2.0, max(0.0, self.volume + steps * VOLUME_STEP)), 2)
        self.player.set_volume(self.volume)
        return self.volume

    def _apply_focus(self) -> None:
        if self.focus is None:
            self.player.set_focus(None)
        else:
            self.player.set_focus({sid for sid, (_, r) in self._tracks.items() if r is self.focus})

    def _start_pump(self, track: rtc.RemoteAudioTrack) -> None:
        if track.sid not in self._pumps:
            self._pumps[track.sid] = asyncio.create_task(self._pump(track))

    async def _pump(self, track: rtc.RemoteAudioTrack) -> None:
        # At the device's rate (48 kHz where it takes it, as LiveKit decodes: no resampling),
        # mono, in FRAME_MS frames. Runs for every frame, so nothing is looked up or copied
        # per frame that need not be: the frame's bytes go to the player as they are, and it
        # converts them once, into its ring.
        sid, push = track.sid, self.player.push
        stream = rtc.AudioStream(
            track, sample_rate=self.player.sample_rate, num_channels=1, frame_size_ms=FRAME_MS
        )
        try:
            async for event in stream:
                push(sid, np.frombuffer(event.frame.data, dtype=np.int16))
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()
            self.player.remove_source(track.sid)

    async def _stop_pumps(self) -> None:
        pumps = list(self._pumps.values())
        self._pumps.clear()
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)

"""The health readout's figures: the SDK's receive statistics and the player's counters.

Measured only while the readout is on screen, once a second.
"""

from __future__ import annotations

from collections.abc import Callable

from livekit import rtc

from snoop_tui.audio import PlayerStats
from snoop_tui.events import Health, TrackHealth
from snoop_tui.transcript import Role


async def track_health(
    room: rtc.Room, role_of: Callable[[rtc.Participant], Role]
) -> tuple[TrackHealth, ...]:
    """Loss and jitter of each incoming audio track, with whose voice it is.

    Asks each track for its own statistics (the room's list names tracks by WebRTC
    ids that do not match LiveKit's); only while the readout is shown."""
    tracks = []
    for participant in list(room.remote_participants.values()):
        for publication in list(participant.track_publications.values()):
            track = publication.track
            if not isinstance(track, rtc.RemoteAudioTrack):
                continue
            try:
                stats = await track.get_stats()
            except Exception:  # a track that just went away: skip it this time
                continue
            for item in stats:
                if item.WhichOneof("stats") == "inbound_rtp":
                    received = item.inbound_rtp.received
                    tracks.append(
                        TrackHealth(
                            role=role_of(participant),
                            packets_received=int(received.packets_received),
                            packets_lost=max(0, int(received.packets_lost)),
                            jitter_ms=float(received.jitter) * 1000.0,
                        )
                    )
                    break
    return tuple(sorted(tracks, key=lambda t: t.role.value))


def health(
    *,
    joined_ms: float | None,
    player: PlayerStats | None,
    device_latency_ms: float,
    rate: int,
    reconnects: int,
    tracks: tuple[TrackHealth, ...],
) -> Health:
    """`player` is None while not listening (no delay to speak of)."""
    return Health(
        joined_ms=joined_ms,
        audio_delay_ms=None if player is None else player.depth_ms + device_latency_ms,
        underflows=0 if player is None else player.underruns + player.device_underflows,
        skips_ms=0.0 if player is None else player.dropped_samples * 1000.0 / rate,
        reconnects=reconnects,
        tracks=tracks,
    )

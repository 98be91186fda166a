"""What the UI process asks of a call process: the commands (`events` holds what it
is told back). `protocol` writes both as JSON lines on the pipes between them."""

from __future__ import annotations

from dataclasses import dataclass

from snoop_tui.settings import Settings


@dataclass(frozen=True)
class StartCall:
    """The first command: which call to join, and how. Its settings carry the credential."""

    conversation_id: str
    settings: Settings
    allow_insecure_ws: bool = False
    status_interval: float = 5.0


@dataclass(frozen=True)
class Listen:
    pass


@dataclass(frozen=True)
class Mute:
    pass


@dataclass(frozen=True)
class CycleFocus:
    pass


@dataclass(frozen=True)
class ChangeVolume:
    steps: int


@dataclass(frozen=True)
class WatchHealth:
    """Send `Health` once a second while `on` (only while the readout is shown)."""

    on: bool


@dataclass(frozen=True)
class Stop:
    pass


Command = StartCall | Listen | Mute | CycleFocus | ChangeVolume | WatchHealth | Stop

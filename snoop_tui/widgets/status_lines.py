"""The one-line widgets under the badge: notice, call details, audio activity, message.

Each owns reactive attributes and renders itself from them, so the panel can set
them at any time (even before they are mounted) and only what changed repaints.
Their height is fixed by the stylesheet, so a change never costs a layout pass.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from snoop_tui.events import CallState, Health
from snoop_tui.first_frame import NOTICE
from snoop_tui.terminal_caps import Glyphs, glyphs
from snoop_tui.transcript import Role


class SafetyNotice(Widget):
    """The product's promise, shown while we are (or are about to be) in the room."""

    state: reactive[CallState] = reactive(CallState.CONNECTING, init=True)

    def watch_state(self, state: CallState) -> None:
        self.display = state in (CallState.CONNECTING, CallState.LIVE, CallState.RECONNECTING)

    def render(self) -> str:
        return NOTICE


class CallDetails(Widget):
    """Which conversation, and (once the platform has said) which room."""

    room: reactive[str] = reactive("")

    def __init__(self, conversation_id: str, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.conversation_id = conversation_id

    def render(self) -> Text:
        details = Text(no_wrap=True, overflow="ellipsis")
        details.append("Conversation ", style="dim")
        details.append(self.conversation_id)
        if self.room:
            details.append(" · Room ", style="dim")
            details.append(self.room)
        return details


class ActivityLine(Widget):
    """Whether you are listening, at what volume and focus, and who is speaking."""

    listening: reactive[bool] = reactive(False)
    volume: reactive[float] = reactive(1.0)
    audio_focus: reactive[Role | None] = reactive(None)
    speaking: reactive[frozenset[Role]] = reactive(frozenset())

    def __init__(self, shapes: Glyphs | None = None, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.shapes = shapes or glyphs()

    def render(self) -> Text:
        activity = Text(no_wrap=True, overflow="ellipsis")
        activity.append("Audio ", style="dim")
        activity.append("listening" if self.listening else "muted", style="bold")
        if self.listening or self.volume != 1.0:  # a level only means something when heard
            activity.append(" · volume ", style="dim")
            activity.append(f"{self.volume:.0%}")
        if self.audio_focus is not None:  # focus changes what you hear, never what you read
            activity.append(" · hearing ", style="dim")
            activity.append(f"the {self.audio_focus.label.lower()} only", style="bold")
        activity.append(" · Speaking:", style="dim")
        for role in (Role.AGENT, Role.CALLER):
            on = role in self.speaking
            activity.append(f" {role.label} ", style="dim")
            mark = self.shapes.speaking if on else self.shapes.silent
            activity.append(mark, style="bold" if on else "dim")
        return activity


class PanelMessage(Widget):
    """A problem or an ending worth reading; hidden while there is none."""

    text: reactive[str] = reactive("", init=True, layout=True)

    def watch_text(self, text: str) -> None:
        self.display = bool(text)

    def render(self) -> Text:
        return Text(self.text)  # may hold outside text: never parsed as markup


class HealthLine(Widget):
    """The health readout (`i`): our join time and audio path, and how each voice arrives."""

    health: reactive[Health | None] = reactive(None, layout=True)

    def render(self) -> Text:
        line = Text()
        line.append("Health ", style="bold")
        health = self.health
        if health is None:
            line.append("measuring…", style="dim")
            return line
        parts: list[tuple[str, str]] = []
        if health.joined_ms is not None:
            parts.append(("joined in", f"{health.joined_ms:.0f} ms"))
        delay = "muted" if health.audio_delay_ms is None else f"{health.audio_delay_ms:.0f} ms"
        parts.append(("audio delay", delay))
        parts.append(("underflows", str(health.underflows)))
        parts.append(("skipped", f"{health.skips_ms:.0f} ms"))
        parts.append(("reconnects", str(health.reconnects)))
        for track in health.tracks:
            parts.append(
                (
                    track.role.label,
                    f"loss {track.loss_percent:.1f}% jitter {track.jitter_ms:.0f} ms",
                )
            )
        for n, (name, value) in enumerate(parts):
            line.append(("· " if n else "") + f"{name} ", style="dim")
            line.append(value + " ")
        return line

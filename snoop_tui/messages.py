"""Textual messages that carry the session's events to the widgets.

The session knows nothing of Textual; the app wraps each event in one of these
and posts it. Messages that only carry "the latest state" say so through
`can_replace`, so a flood of interim transcript updates collapses to the newest.
"""

from __future__ import annotations

from textual.message import Message

from snoop_tui.errors import SnoopError
from snoop_tui.session import AudioChanged, SessionEvent, SpeakersChanged, StateChanged
from snoop_tui.transcript import TranscriptSegment


class CallStateChanged(Message):
    def __init__(self, event: StateChanged) -> None:
        super().__init__()
        self.event = event


class TranscriptChanged(Message):
    def __init__(self, segment: TranscriptSegment) -> None:
        super().__init__()
        self.segment = segment

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TranscriptChanged) and message.segment.key == self.segment.key


class SpeakerActivity(Message):
    def __init__(self, event: SpeakersChanged) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SpeakerActivity)


class AudioStateChanged(Message):
    def __init__(self, event: AudioChanged) -> None:
        super().__init__()
        self.event = event


class Notice(Message):
    """A problem to show in the panel without ending it (no audio device, say)."""

    def __init__(self, error: SnoopError) -> None:
        super().__init__()
        self.error = error


def to_message(event: SessionEvent) -> Message:
    if isinstance(event, StateChanged):
        return CallStateChanged(event)
    if isinstance(event, SpeakersChanged):
        return SpeakerActivity(event)
    if isinstance(event, AudioChanged):
        return AudioStateChanged(event)
    return TranscriptChanged(event.segment)

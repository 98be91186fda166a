"""The one Textual message that carries a call's events to the app.

The core knows nothing of Textual; the app wraps each `CallEvent` in a
`CallEventMessage` and posts it. Events that only carry "the latest state"
(interim text of one segment, speaker activity) collapse while they wait in the
queue (`can_replace`), so a flood never builds a backlog of stale repaints.
"""

from __future__ import annotations

from textual.message import Message

from snoop_tui.events import CallEvent, supersedes


class CallEventMessage(Message):
    """Something happened on the call."""

    bubble = False  # the panel is its only reader; the app would dispatch each one again

    def __init__(self, event: CallEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        # Textual asks the message at the head of the queue whether the next one
        # (`message`, newer) may replace it.
        return isinstance(message, CallEventMessage) and supersedes(message.event, self.event)

"""Builds the panel app on a call: the one factory the CLI, the demo, the tests use.

The app knows only the `CallLink` protocol; this module picks the implementation
(today a call run in this process), so the UI modules never import the SDK,
the audio library or the HTTP client.
"""

from __future__ import annotations

from collections.abc import Callable

from snoop_tui.app import SnoopApp
from snoop_tui.call_status import DEFAULT_INTERVAL
from snoop_tui.local_call import InProcessCall
from snoop_tui.platform import PlatformClient
from snoop_tui.settings import Settings


def make_app(
    settings: Settings,
    conversation_id: str,
    *,
    platform_factory: Callable[[Settings], PlatformClient] = PlatformClient,
    allow_insecure_ws: bool = False,
    status_interval: float = DEFAULT_INTERVAL,
) -> SnoopApp[InProcessCall]:
    """The panel on one conversation, joined as a hidden, subscribe-only observer."""
    call = InProcessCall(
        settings,
        conversation_id,
        platform_factory=platform_factory,
        allow_insecure_ws=allow_insecure_ws,
        status_interval=status_interval,
    )
    return SnoopApp(conversation_id, call)

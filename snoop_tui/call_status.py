"""Watches the conversation's status on the platform, so a finished call shows as ended.

The agent leaving the room is the quick signal; the platform's status is the
authoritative one (a call can end while the agent lingers, or the room can outlive
it). Polled at a modest interval, backing off while the platform is failing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from snoop_tui.errors import MissingScope, PlatformError, Unauthorized
from snoop_tui.platform import Conversation

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 5.0
MAX_INTERVAL = 60.0


async def watch_until_terminal(
    fetch: Callable[[], Awaitable[Conversation]],
    *,
    interval: float = DEFAULT_INTERVAL,
    max_interval: float = MAX_INTERVAL,
) -> Conversation | None:
    """Return the conversation once its status is terminal; None if it cannot be watched.

    Errors double the wait (up to `max_interval`); a credential that may not read the
    conversation stops the watch, since asking again would not change the answer.
    """
    delay = interval
    while True:
        await asyncio.sleep(delay)
        try:
            conversation = await fetch()
        except (Unauthorized, MissingScope) as error:
            log.info("cannot watch the conversation's status: %s", error)
            return None
        except PlatformError as error:
            delay = min(delay * 2, max_interval)
            log.info("conversation status check failed (next in %.0f s): %s", delay, error)
            continue
        if conversation.is_terminal:
            return conversation
        delay = interval

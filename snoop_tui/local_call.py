"""A call run in this process: listener token, hidden join, status watch, call context.

The `CallLink` the panel uses today. It owns the platform client and the listener
session for one conversation and turns their results and failures into events,
so the panel only ever sees `CallEvent`s. Once the token is granted, the call's
context (its start, what was said before we joined) is fetched beside the join,
never in its way. The LiveKit SDK (and numpy with it) is loaded on a worker thread
while the token request is out, so a slow platform and a slow import overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from snoop_tui.call_status import DEFAULT_INTERVAL, watch_until_terminal
from snoop_tui.errors import AudioUnavailable, SnoopError
from snoop_tui.events import AudioChanged, CallContext, CallEvent, CallFailed, RoomAssigned
from snoop_tui.link import EventSink, next_focus
from snoop_tui.platform import PlatformClient
from snoop_tui.settings import Settings

if TYPE_CHECKING:
    from snoop_tui.session import ListenerSession

log = logging.getLogger(__name__)

HEALTH_INTERVAL = 1.0
"""How often the health readout is refreshed while it is shown."""


class InProcessCall:
    """A `CallLink` whose session runs on the caller's own event loop."""

    def __init__(
        self,
        settings: Settings,
        conversation_id: str,
        *,
        platform_factory: Callable[[Settings], PlatformClient] = PlatformClient,
        allow_insecure_ws: bool = False,
        status_interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self.settings = settings
        self.conversation_id = conversation_id
        self.session: ListenerSession | None = None
        self._platform = platform_factory(settings)
        self._allow_insecure_ws = allow_insecure_ws
        self._status_interval = status_interval
        self._on_event: EventSink | None = None
        self._status_task: asyncio.Task[None] | None = None
        self._context_task: asyncio.Task[None] | None = None
        self._stopped = False
        self._stopping: asyncio.Future[None] | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._joined_ms: float | None = None

    async def start(self, on_event: EventSink) -> None:
        self._on_event = on_event
        platform = self._platform
        asked = time.monotonic()
        loading = asyncio.ensure_future(asyncio.to_thread(_session_class))
        try:
            grant = await platform.listener_token(self.conversation_id)
            log.info(
                "listener token granted: room %s, expires %s", grant.room_name, grant.expires_at
            )
            self._emit(RoomAssigned(grant.room_name))
            if not self._stopped:
                self._context_task = asyncio.create_task(self._fetch_context())
            session_class = await loading
            self.session = session_class(
                grant,
                on_event=self._emit,
                output_device=self.settings.output_device,
                connect_timeout=self.settings.connect_timeout,
                refresh_grant=lambda: platform.listener_token(self.conversation_id),
                allow_insecure_ws=self._allow_insecure_ws,
            )
            await self.session.connect()
            self._joined_ms = (time.monotonic() - asked) * 1000.0
        except SnoopError as error:
            loading.cancel()  # its thread finishes the import; nobody waits for it
            if self._context_task is not None:
                self._context_task.cancel()
            self._emit(CallFailed(error))
            return
        if self._stopped:  # Stop was pressed while joining: leave at once
            await self.session.stop()
            return
        self._status_task = asyncio.create_task(self._watch_status())

    async def _fetch_context(self) -> None:
        """Report the call's start and its transcript so far; without them on any failure."""
        try:
            detail = await self._platform.conversation_detail(self.conversation_id)
        except Exception as error:  # the call goes on without its history
            log.info("could not fetch the call's history: %s", error)
            self._emit(CallContext(started_at=None, history=(), history_available=False))
            return
        self._emit(
            CallContext(
                started_at=detail.started_at,
                history=detail.history,
                history_available=detail.history_available,
                history_omitted=detail.history_omitted,
            )
        )

    async def _watch_status(self) -> None:
        """End the call when the platform says the conversation is over."""
        try:
            conversation = await watch_until_terminal(
                lambda: self._platform.conversation(self.conversation_id),
                interval=self._status_interval,
            )
        except Exception:  # the room's own signals still end the call
            log.warning("conversation status watch failed", exc_info=True)
            return
        if conversation is not None and self.session is not None:
            await self.session.end(f"The conversation is now {conversation.status}.")

    async def listen(self) -> None:
        if self.session is None:
            return
        try:
            await self.session.listen()
        except AudioUnavailable as error:
            self._emit(
                AudioChanged(False, self.session.volume, self.session.audio_focus, error.message)
            )

    async def mute(self) -> None:
        if self.session is not None:
            await self.session.mute()

    async def cycle_focus(self) -> None:
        if self.session is not None:
            self.session.set_focus(next_focus(self.session.audio_focus))

    async def change_volume(self, steps: int) -> None:
        if self.session is not None:
            self.session.change_volume(steps)

    async def watch_health(self, on: bool) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            self._health_task = None
        if on:
            self._health_task = asyncio.create_task(self._report_health())

    async def _report_health(self) -> None:
        while True:
            if self.session is not None:
                self._emit(await self.session.health(self._joined_ms))
            await asyncio.sleep(HEALTH_INTERVAL)

    async def stop(self) -> None:
        if self._stopping is None:
            self._stopped = True
            self._stopping = asyncio.ensure_future(self._leave())
        await asyncio.shield(self._stopping)

    async def _leave(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
        if self._context_task is not None:
            self._context_task.cancel()
        if self._status_task is not None:
            self._status_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._status_task
        if self.session is not None:
            await self.session.stop()
        await self._platform.aclose()

    def _emit(self, event: CallEvent) -> None:
        if not self._stopped and self._on_event is not None:
            self._on_event(event)


def _session_class() -> type[ListenerSession]:
    """`ListenerSession`, importing the LiveKit SDK on first use (the import takes about
    150 ms, most of it numpy's)."""
    session: Any = importlib.import_module("snoop_tui.session")
    return cast("type[ListenerSession]", session.ListenerSession)

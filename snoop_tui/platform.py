"""Client for the AnyReach platform API: listener tokens, conversations and live calls.

Every httpx error is converted here into a `PlatformError` with a message a
supervisor can act on (as httpx itself maps httpcore's errors at its boundary),
so callers never see a dependency's exception or a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from snoop_tui.board_model import (
    ConversationSummary,
    lifecycle_order,
    merge_listing,
    parse_summary,
)
from snoop_tui.errors import (
    BadPlatformResponse,
    PlatformError,
    PlatformTimeout,
    PlatformUnreachable,
)
from snoop_tui.events import HistoryLine
from snoop_tui.history import read_history
from snoop_tui.platform_replies import (
    Reply,
    cursor_after,
    declared_length,
    decode_json_array,
    decode_json_object,
    is_a_plain_web_server,
    listing_error,
    retry_after,
    status_error,
    string_field,
    too_large,
)
from snoop_tui.settings import Secret, Settings, validate_conversation_id

log = logging.getLogger(__name__)

ACTIVE_STATUSES = frozenset({"token_created", "triggered", "ringing", "in_progress"})
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "transferred", "unanswered"})
MAX_BODY_BYTES = 256 * 1024
"""A listener-token or conversation body is a few hundred bytes; read no more than this."""
MAX_RETRY_DELAY = 30.0
"""The longest wait between two attempts, whatever a Retry-After asks for."""
LIVE_STATUSES = ("in_progress", "ringing", "triggered")
"""What the live call board lists. `token_created` is hidden, as the platform's own inbox
hides it: a web session that has a token but has not started."""
LIST_PAGE_SIZE = 100
"""Items per listing page: the platform's documented maximum, so few requests."""
MAX_LIST_PAGES = 20
"""Pages walked per status at most (a platform that never stops paging cannot hold us)."""
LIST_DEADLINE = 30.0
"""Seconds for a whole listing, all statuses and pages (each request has its own bound)."""
MAX_LIST_BODY_BYTES = 4 * 1024 * 1024
"""A listing page of 100 conversations is tens of kilobytes; read no more than this."""
MAX_CONVERSATION_BODY_BYTES = 4 * 1024 * 1024
"""One conversation may carry its transcript so far: a long call's is a few hundred KB."""


@dataclass(frozen=True)
class ListenerGrant:
    """What the listener-token endpoint returns: where to join, and the token to join with."""

    url: str
    token: Secret
    room_name: str
    expires_at: datetime


@dataclass(frozen=True)
class Conversation:
    id: str
    status: str
    agent_name: str | None = None
    user_id: str | None = None
    channel: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class ConversationDetail:
    """One conversation with what the platform shares of its past: start and transcript."""

    conversation: Conversation
    started_at: datetime | None
    """`created_at`, in UTC."""
    history: tuple[HistoryLine, ...] = ()
    history_available: bool = False
    """The answer carried a transcript we could read (the role allows it, the shape is known)."""
    history_omitted: int = 0


KEEPALIVE_SECONDS = 30.0
"""How long an idle connection to the platform is kept for the next request."""


def tls_for(api_url: str) -> ssl.SSLContext | bool:
    """How the platform's certificates are checked: as httpx does by default for https.

    A plain http platform (a local stack) never does TLS, and loading the CA bundle for it
    cost 30 ms on the way to every call. It gets a context that trusts no certificate at
    all, so that a TLS connection through it could only fail, never go unchecked."""
    if urlsplit(api_url).scheme == "https":
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class PlatformClient:
    """Talks to the platform API with one `httpx.AsyncClient`."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        credential = settings.require_credential()
        headers = {
            "Authorization": f"Bearer {credential.reveal()}",
            "Accept": "application/json",
            "User-Agent": "snoop-tui",
        }
        if settings.org:
            headers["X-Anyreach-Org"] = settings.org
        self._settings = settings
        self._retries = retries
        self._backoff = backoff
        self._client = httpx.AsyncClient(
            base_url=settings.api_url,
            headers=headers,
            timeout=httpx.Timeout(settings.request_timeout),
            transport=transport,
            follow_redirects=False,
            verify=tls_for(settings.api_url),
            # The call's status is asked for every 5 s, which is httpx's default
            # keep-alive: each poll opened a new connection (and, over HTTPS, a TLS
            # handshake). Kept for 30 s, one connection serves them all.
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> PlatformClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def listener_token(self, conversation_id: str) -> ListenerGrant:
        """Ask for a subscribe-only, hidden token for the call's LiveKit room."""
        path = _conversation_path(self._settings.listener_token_path, conversation_id)
        body = await self._request("POST", path, conversation_id, json={})
        with self._documented_answer():
            return _parse_listener_grant(body)

    async def conversation(self, conversation_id: str) -> Conversation:
        return _parse_conversation(await self._conversation_body(conversation_id))

    async def conversation_detail(self, conversation_id: str) -> ConversationDetail:
        """The conversation, its start and the transcript so far (when the role allows).

        An absent or unreadable transcript is no error: `history_available` is False."""
        body = await self._conversation_body(conversation_id)
        history = read_history(body)
        return ConversationDetail(
            conversation=_parse_conversation(body),
            started_at=history.started_at,
            history=history.lines,
            history_available=history.available,
            history_omitted=history.omitted,
        )

    async def _conversation_body(self, conversation_id: str) -> Mapping[str, Any]:
        path = _conversation_path(self._settings.conversation_path, conversation_id)
        return await self._request(
            "GET", path, conversation_id, max_body=MAX_CONVERSATION_BODY_BYTES
        )

    async def list_live_conversations(
        self,
        statuses: Sequence[str] = LIVE_STATUSES,
        *,
        page_size: int = LIST_PAGE_SIZE,
        max_pages: int = MAX_LIST_PAGES,
        deadline: float | None = None,
    ) -> list[ConversationSummary]:
        """The organization's live calls, newest first, each once.

        One cursor walk per status, at most `max_pages` pages each, all within `deadline`
        seconds (default: LIST_DEADLINE, or the request timeout if longer). Items without
        a usable id and status are skipped and logged.

        The walks go one after another, earliest status first (triggered, ringing, in
        progress). A call only moves forward, so one answered while the listing is taken
        is met by a later walk; walked side by side, or latest first, it could fall
        between two and leave the board for a refresh."""
        if page_size < 1 or max_pages < 1:
            raise ValueError("page_size and max_pages must be at least 1")
        budget = (
            deadline if deadline is not None else max(LIST_DEADLINE, self._settings.request_timeout)
        )
        try:
            async with asyncio.timeout(budget):
                walks = [
                    await self._walk(status, page_size, max_pages)
                    for status in sorted(statuses, key=lifecycle_order)
                ]
        except TimeoutError:
            raise PlatformTimeout(
                f"The platform at {self._settings.api_url} did not list the live calls "
                f"within {budget:g} s."
            ) from None
        return merge_listing(summary for walk in walks for summary in walk)

    async def _walk(self, status: str, page_size: int, max_pages: int) -> list[ConversationSummary]:
        """One status's pages, walking back in time by the documented cursor."""
        found: list[ConversationSummary] = []
        cursor: str | None = None
        for _ in range(max_pages):
            params = {"status": status, "limit": str(page_size)}
            if cursor is not None:
                params["cursor"] = cursor
            reply = await self._exchange(
                "GET",
                self._settings.conversations_path,
                listing_error,
                params=params,
                max_body=MAX_LIST_BODY_BYTES,
            )
            with self._documented_answer():
                items = decode_json_array(reply.body, reply.content_type)
            for item in items:
                summary = parse_summary(item)
                if summary is None:
                    log.warning("listing %s: skipped an item without a usable id/status", status)
                elif summary.status == status:  # a platform that ignores the filter
                    found.append(summary)
            if len(items) < page_size:
                return found
            next_cursor = cursor_after(items[-1])
            if next_cursor is None or next_cursor == cursor:
                log.warning("listing %s: the last item gives no new cursor; stopping", status)
                return found
            cursor = next_cursor
        log.warning("listing %s: stopped after %d pages", status, max_pages)
        return found

    async def _request(
        self,
        method: str,
        path: str,
        conversation_id: str,
        json: Any = None,
        max_body: int = MAX_BODY_BYTES,
    ) -> Mapping[str, Any]:
        reply = await self._exchange(
            method,
            path,
            lambda status: status_error(status, conversation_id),
            json=json,
            max_body=max_body,
        )
        with self._documented_answer():
            return decode_json_object(reply.body, reply.content_type)

    @contextlib.contextmanager
    def _documented_answer(self) -> Iterator[None]:
        """An answer that is not the documented JSON: most likely not the platform at all."""
        try:
            yield
        except BadPlatformResponse as error:
            raise BadPlatformResponse(f"{error.message} {self._not_the_api()}") from None

    def _not_the_api(self) -> str:
        return (
            f"{self._settings.api_url} does not look like the AnyReach platform API "
            "(check ANYREACH_API_URL)."
        )

    async def _exchange(
        self,
        method: str,
        path: str,
        error_for: Callable[[int], PlatformError],
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        max_body: int = MAX_BODY_BYTES,
    ) -> Reply:
        """Send with bounded retries: unreachable, 5xx and 429 are retried `retries` times."""
        attempt = 0
        while True:
            try:
                reply = await self._send(method, path, json, params, max_body)
            except PlatformError as exc:
                if attempt >= self._retries or not isinstance(exc, PlatformUnreachable):
                    raise
                delay = self._backoff * 2**attempt
            else:
                if reply.status < 400:
                    return reply
                if is_a_plain_web_server(reply):
                    raise BadPlatformResponse(
                        f"The platform answered {reply.status} with a page, not JSON. "
                        f"{self._not_the_api()}"
                    )
                error = error_for(reply.status)
                if attempt >= self._retries or not (reply.status == 429 or reply.status >= 500):
                    raise error
                delay = reply.retry_after
                if delay is None:
                    delay = self._backoff * 2**attempt
            attempt += 1
            await asyncio.sleep(min(delay, MAX_RETRY_DELAY))

    async def _send(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, str] | None = None,
        max_body: int = MAX_BODY_BYTES,
    ) -> Reply:
        """One request, bounded in time as a whole (a trickling body cannot hang us)."""
        try:
            async with asyncio.timeout(self._settings.request_timeout):
                return await self._send_unbounded(method, path, json, params, max_body)
        except (TimeoutError, httpx.TimeoutException):
            raise PlatformTimeout(
                f"The platform at {self._settings.api_url} did not answer within "
                f"{self._settings.request_timeout:g} s."
            ) from None
        except httpx.TransportError:
            raise PlatformUnreachable(
                f"Cannot reach the platform at {self._settings.api_url}. "
                "Check the network and ANYREACH_API_URL."
            ) from None

    async def _send_unbounded(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, str] | None,
        max_body: int,
    ) -> Reply:
        async with self._client.stream(method, path, json=json, params=params) as response:
            if declared_length(response.headers) > max_body:
                raise too_large()
            raw = bytearray()
            async for chunk in response.aiter_bytes():
                raw += chunk
                if len(raw) > max_body:
                    raise too_large()
            return Reply(
                status=response.status_code,
                body=bytes(raw),
                content_type=response.headers.get("content-type", ""),
                retry_after=retry_after(response.headers),
            )


def _conversation_path(template: str, conversation_id: str) -> str:
    return template.format(
        conversation_id=quote(validate_conversation_id(conversation_id), safe="")
    )


def _parse_listener_grant(body: Mapping[str, Any]) -> ListenerGrant:
    url = string_field(body, "url")
    token = string_field(body, "token")
    room_name = string_field(body, "room_name")
    expires_raw = string_field(body, "expires_at")
    try:
        expires_at = datetime.fromisoformat(expires_raw)
    except ValueError:
        raise BadPlatformResponse(
            "The platform's listener-token answer has an unreadable `expires_at`."
        ) from None
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    return ListenerGrant(url=url, token=Secret(token), room_name=room_name, expires_at=expires_at)


def _parse_conversation(body: Mapping[str, Any]) -> Conversation:
    conversation_id = body.get("id")
    status = body.get("status")
    if not isinstance(conversation_id, str) or not isinstance(status, str):
        raise BadPlatformResponse("The platform's conversation answer lacks `id` or `status`.")
    agent = body.get("agent")
    agent_name = agent.get("name") if isinstance(agent, dict) else None
    user_id = body.get("user_id")
    channel = body.get("channel")
    return Conversation(
        id=conversation_id,
        status=status,
        agent_name=agent_name if isinstance(agent_name, str) else None,
        user_id=user_id if isinstance(user_id, str) else None,
        channel=channel if isinstance(channel, str) else None,
    )

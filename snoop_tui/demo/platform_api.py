"""A local AnyReach platform API on 127.0.0.1 that mints real LiveKit listener tokens.

It answers exactly what the platform documents (listener token, one conversation, a list
of conversations, and their errors; one conversation carries its transcript so far
under `conversation` for a credential whose role may read it), plus a local-only
`/_local` admin surface that the demo and the tests use to create conversations, end
them and count calls. Credentials and tokens are never logged. (The tests extend
`make_app` with fault injection; the demo serves only the documented behaviour.)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import datetime as dt
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from aiohttp import web
from livekit import api

from snoop_tui.demo.livekit_server import add_api_secret_option, exit_within, starter_alive

ACTIVE_STATUSES = frozenset({"token_created", "triggered", "ringing", "in_progress"})
LISTENABLE_STATUSES = frozenset({"triggered", "ringing", "in_progress"})
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "transferred", "unanswered"})
ALL_STATUSES = ACTIVE_STATUSES | TERMINAL_STATUSES
READ = "conversations:read"
READ_SENSITIVE = "conversations:read_sensitive"
MANAGE = "conversations:manage"
DEMO_ORG = "org_demo"


@dataclass(frozen=True)
class Credential:
    """What a bearer credential is allowed to do, and for which organisation."""

    org_id: str
    scopes: frozenset[str]


DEMO_CREDENTIALS: Mapping[str, Credential] = {
    "ak_demo_sensitive": Credential(DEMO_ORG, frozenset({READ, READ_SENSITIVE})),
    "ak_demo_manage": Credential(DEMO_ORG, frozenset({MANAGE})),
    "ak_demo_readonly": Credential(DEMO_ORG, frozenset({READ})),
    "pat_demo_sensitive": Credential(DEMO_ORG, frozenset({READ, READ_SENSITIVE})),
    "ak_demo_agents_only": Credential(DEMO_ORG, frozenset({"agents:read"})),
}
"""`ak_demo_readonly` reads conversations but not their sensitive fields (no listener
token, no caller or agent number in listings); `ak_demo_agents_only` reads none."""
LIST_LIMIT_DEFAULT = 20
LIST_LIMIT_MAX = 100
SENSITIVE_LISTED_FIELDS = ("agent_number", "user_id")
"""What a listing leaves out for a credential without a sensitive scope."""


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> str:
    """A conversation's timestamp: microseconds, so a cursor (strictly older) never
    skips a call created in the same second as the last one of a page."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


@dataclass
class Conversation:
    """One conversation as the platform stores it; `room_name` is local-only."""

    id: str
    status: str = "in_progress"
    room_name: str | None = None
    agent_id: str = "agent_demo"
    agent_name: str = "Billing Assistant"
    agent_number: str = "+15550199"
    user_id: str = "+15550100"
    channel: str = "telephone"
    direction: str = "inbound"
    duration: int = 0
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)
    transcript: Any = None
    """The transcript so far, any JSON (its shape is not documented); None: not shared."""

    def to_public_json(
        self, *, sensitive: bool = True, with_transcript: bool = False
    ) -> dict[str, Any]:
        """The documented shape, without the local-only fields (nor, unless `sensitive`,
        the fields a read-only role does not see); `with_transcript` adds the transcript
        under `conversation`, as the platform's answer for one conversation does."""
        body = {
            "id": self.id,
            "agent": {"id": self.agent_id, "name": self.agent_name},
            "agent_number": self.agent_number,
            "user_id": self.user_id,
            "channel": self.channel,
            "direction": self.direction,
            "duration": self.duration,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "status": self.status,
        }
        if not sensitive:
            for name in SENSITIVE_LISTED_FIELDS:
                del body[name]
        if with_transcript and sensitive and self.transcript is not None:
            body["conversation"] = {"transcript": self.transcript}
        return body

    @property
    def created(self) -> dt.datetime:
        return _parse_time(self.created_at) or dt.datetime.min.replace(tzinfo=dt.UTC)


_CONVERSATION_FIELDS = {f.name for f in fields(Conversation)} - {"id"}


@dataclass(frozen=True)
class RequestRecord:
    """One answered request: never headers, never bodies.

    `at` is this server's monotonic clock when the request arrived, so a test can
    measure the gap between two requests from the server's side."""

    method: str
    path: str
    status: int
    at: float = 0.0


@dataclass
class PlatformState:
    """Everything the local platform knows: LiveKit keys, credentials, conversations."""

    livekit_url: str
    api_key: str
    api_secret: str
    credentials: Mapping[str, Credential] = field(default_factory=lambda: dict(DEMO_CREDENTIALS))
    conversations: dict[str, Conversation] = field(default_factory=dict)
    token_ttl: dt.timedelta = dt.timedelta(minutes=10)
    requests: list[RequestRecord] = field(default_factory=list)


STATE: web.AppKey[PlatformState] = web.AppKey("state", PlatformState)


def _error(status: int, detail: str) -> web.Response:
    return web.json_response({"detail": detail}, status=status)


def _authenticate(request: web.Request, state: PlatformState) -> Credential | web.Response:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return _error(401, "Missing bearer credential.")
    credential = state.credentials.get(secret.strip())
    if credential is None:
        return _error(401, "Invalid credential.")
    org = request.headers.get("X-Anyreach-Org")
    if secret.startswith("pat_") and not org:
        return _error(401, "Personal access tokens need the X-Anyreach-Org header.")
    if org is not None and org != credential.org_id:
        return _error(401, "The credential does not belong to that organization.")
    return credential


def _authorize(
    request: web.Request, state: PlatformState, any_of: frozenset[str]
) -> Credential | web.Response:
    credential = _authenticate(request, state)
    if isinstance(credential, web.Response):
        return credential
    if not credential.scopes & any_of:
        needed = " or ".join(sorted(any_of))
        return _error(403, f"The credential lacks the scope {needed}.")
    return credential


def _authorized_conversation(
    request: web.Request, any_of: frozenset[str]
) -> Conversation | web.Response:
    """The conversation the path names, or the 401/403/404 answer to send instead."""
    state = request.app[STATE]
    auth = _authorize(request, state, any_of)
    if isinstance(auth, web.Response):
        return auth
    conversation = state.conversations.get(request.match_info["conversation_id"])
    if conversation is None:
        return _error(404, "Conversation not found.")
    return conversation


def listener_grants(room_name: str) -> api.VideoGrants:
    """What the platform grants a listener: join one room, hidden, subscribe only."""
    return api.VideoGrants(
        room_join=True,
        room=room_name,
        can_subscribe=True,
        can_publish=False,
        can_publish_data=False,
        hidden=True,
    )


def mint_token(
    state: PlatformState, grants: api.VideoGrants, ttl: dt.timedelta | None = None
) -> tuple[str, dt.datetime]:
    """A real LiveKit JWT for an observer with `grants`; returns (jwt, expiry)."""
    ttl = state.token_ttl if ttl is None else ttl
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + ttl
    token = (
        api.AccessToken(state.api_key, state.api_secret)
        .with_identity(f"observer-{secrets.token_hex(6)}")
        .with_name("Supervisor")
        .with_ttl(ttl)
        .with_grants(grants)
        .to_jwt()
    )
    return token, expires


def mint_listener_token(state: PlatformState, room_name: str) -> tuple[str, dt.datetime]:
    """A listener token for `room_name`, as the platform mints it; returns (jwt, expiry)."""
    return mint_token(state, listener_grants(room_name))


_READ_SCOPES = frozenset({READ, READ_SENSITIVE, MANAGE})
_LISTEN_SCOPES = frozenset({READ_SENSITIVE, MANAGE})


async def listener_token(request: web.Request) -> web.Response:
    state = request.app[STATE]
    conversation = _authorized_conversation(request, _LISTEN_SCOPES)
    if isinstance(conversation, web.Response):
        return conversation
    if conversation.status not in LISTENABLE_STATUSES:
        return _error(409, f"Conversation is not active (status {conversation.status}).")
    if conversation.room_name is None:
        return _error(404, "Conversation has no live room.")
    token, expires = mint_listener_token(state, conversation.room_name)
    body = {
        "url": state.livekit_url,
        "token": token,
        "room_name": conversation.room_name,
        "expires_at": _iso(expires),
    }
    return web.json_response(body)


async def get_conversation(request: web.Request) -> web.Response:
    """One conversation; its transcript only for a role that may read sensitive content."""
    conversation = _authorized_conversation(request, _READ_SCOPES)
    if isinstance(conversation, web.Response):
        return conversation
    credential = _authenticate(request, request.app[STATE])
    may_read = isinstance(credential, Credential) and bool(credential.scopes & _LISTEN_SCOPES)
    return web.json_response(conversation.to_public_json(with_transcript=may_read))


_EXACT_FILTERS = ("status", "direction", "channel", "agent_id")
_SUBSTRING_FILTERS = ("user_id", "agent_number")


def _page_limit(request: web.Request) -> int | web.Response:
    raw = request.query.get("limit", str(LIST_LIMIT_DEFAULT))
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= LIST_LIMIT_MAX:
        return _error(422, f"limit must be an integer from 1 to {LIST_LIMIT_MAX}.")
    return limit


def _cursor_time(request: web.Request) -> dt.datetime | None | web.Response:
    """The cursor's moment (Base64 of a created_at), None without one, or a 400."""
    cursor = request.query.get("cursor")
    if cursor is None:
        return None
    try:
        moment = _parse_time(base64.b64decode(cursor, validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError):
        moment = None
    return moment if moment is not None else _error(400, "Invalid cursor.")


def _listed(conversation: Conversation, query: Mapping[str, str]) -> bool:
    for name in _EXACT_FILTERS:
        if name in query and str(getattr(conversation, name)) != query[name]:
            return False
    return all(
        query[name] in str(getattr(conversation, name))
        for name in _SUBSTRING_FILTERS
        if name in query
    )


async def list_conversations(request: web.Request) -> web.Response:
    """Newest first, `limit` at a time; `cursor` (Base64 of a created_at) pages back in
    time to strictly older ones. A read-only role sees fewer fields."""
    state = request.app[STATE]
    auth = _authorize(request, state, _READ_SCOPES)
    if isinstance(auth, web.Response):
        return auth
    limit = _page_limit(request)
    if isinstance(limit, web.Response):
        return limit
    before = _cursor_time(request)
    if isinstance(before, web.Response):
        return before
    found = [
        c
        for c in state.conversations.values()
        if _listed(c, request.query) and (before is None or c.created < before)
    ]
    found.sort(key=lambda c: (c.created, c.id), reverse=True)
    sensitive = bool(auth.scopes & _LISTEN_SCOPES)
    return web.json_response([c.to_public_json(sensitive=sensitive) for c in found[:limit]])


async def _read_fields(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        data = await request.json()
    except json.JSONDecodeError:
        return _error(400, "Body must be JSON.")
    if not isinstance(data, dict):
        return _error(400, "Body must be a JSON object.")
    data.pop("id", None)
    return _check_fields(data)


def _check_fields(data: dict[str, Any]) -> dict[str, Any] | web.Response:
    unknown = set(data) - _CONVERSATION_FIELDS
    if unknown:
        return _error(400, f"Unknown fields: {', '.join(sorted(unknown))}.")
    if "status" in data and data["status"] not in ALL_STATUSES:
        return _error(400, f"Unknown status {data['status']!r}.")
    for name in ("created_at", "updated_at"):
        if name in data and not (isinstance(data[name], str) and _parse_time(data[name])):
            return _error(400, f"{name} must be an ISO 8601 timestamp.")
    return data


async def put_conversation(request: web.Request) -> web.Response:
    state = request.app[STATE]
    data = await _read_fields(request)
    if isinstance(data, web.Response):
        return data
    conversation_id = request.match_info["conversation_id"]
    conversation = Conversation(id=conversation_id, **data)
    state.conversations[conversation_id] = conversation
    return web.json_response(asdict(conversation))


async def patch_conversation(request: web.Request) -> web.Response:
    state = request.app[STATE]
    data = await _read_fields(request)
    if isinstance(data, web.Response):
        return data
    conversation_id = request.match_info["conversation_id"]
    current = state.conversations.get(conversation_id)
    if current is None:
        return _error(404, "Conversation not found.")
    updated = replace(current, **data, updated_at=_now())
    state.conversations[conversation_id] = updated
    return web.json_response(asdict(updated))


async def put_conversations(request: web.Request) -> web.Response:
    """Create (or replace) many conversations at once: a JSON array of objects, each with
    its `id` and fields, e.g. for paging through a busy organization's calls."""
    state = request.app[STATE]
    try:
        items = await request.json()
    except json.JSONDecodeError:
        return _error(400, "Body must be JSON.")
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get("id"), str) for item in items
    ):
        return _error(400, "Body must be a JSON array of objects, each with an `id`.")
    created = []
    for item in items:
        checked = _check_fields({k: v for k, v in item.items() if k != "id"})
        if isinstance(checked, web.Response):
            return checked
        created.append(Conversation(id=item["id"], **checked))
    for conversation in created:
        state.conversations[conversation.id] = conversation
    return web.json_response({"created": len(created)})


async def clear_conversations(request: web.Request) -> web.Response:
    request.app[STATE].conversations.clear()
    return web.json_response({})


async def list_requests(request: web.Request) -> web.Response:
    """The request log; `?timestamps=1` adds each request's arrival time (`at`)."""
    timestamps = request.query.get("timestamps") == "1"
    records = [asdict(r) for r in request.app[STATE].requests]
    if not timestamps:
        for record in records:
            del record["at"]
    return web.json_response(records)


async def clear_requests(request: web.Request) -> web.Response:
    request.app[STATE].requests.clear()
    return web.json_response([])


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def record_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Keep method, path and status of each request to the documented API (`/core/...`);
    never headers (they hold secrets), never the local admin surface."""
    state = request.app[STATE]
    status = 500
    arrived = time.monotonic()
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        if not request.path.startswith("/_local/"):
            state.requests.append(RequestRecord(request.method, request.path, status, arrived))


def make_app(state: PlatformState) -> web.Application:
    """The aiohttp application serving `state` (unfrozen: callers may add routes and
    middlewares before serving it)."""
    app = web.Application(middlewares=[record_requests])
    app[STATE] = state
    conv = "/core/conversations/{conversation_id}"
    app.router.add_post(conv + "/listener-token", listener_token)
    app.router.add_get(conv, get_conversation)
    app.router.add_get("/core/conversations", list_conversations)
    app.router.add_put("/_local/conversations", put_conversations)
    app.router.add_delete("/_local/conversations", clear_conversations)
    local = "/_local/conversations/{conversation_id}"
    app.router.add_put(local, put_conversation)
    app.router.add_patch(local, patch_conversation)
    app.router.add_get("/_local/requests", list_requests)
    app.router.add_delete("/_local/requests", clear_requests)
    return app


AppFactory = Callable[[PlatformState], web.Application]


async def start_platform_api(
    state: PlatformState,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    app_factory: AppFactory = make_app,
) -> tuple[web.AppRunner, str]:
    """Serve `state` in this event loop; returns the runner (cleanup() stops it) and base URL."""
    runner = web.AppRunner(
        app_factory(state), access_log=None, handle_signals=False, shutdown_timeout=5.0
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = int(runner.addresses[0][1])
    return runner, f"http://{host}:{bound_port}"


def _write_port_file(path: Path, port: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{port}\n")
    os.replace(tmp, path)


async def _serve(args: argparse.Namespace, app_factory: AppFactory) -> None:
    state = PlatformState(
        livekit_url=args.livekit_url,
        api_key=args.api_key,
        api_secret=args.api_secret,
        token_ttl=dt.timedelta(seconds=args.token_ttl),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop_soon() -> None:  # in order, but within `STOP_GRACE` seconds at most
        exit_within()
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(signum, stop_soon)
    runner, base_url = await start_platform_api(state, port=args.port, app_factory=app_factory)
    try:
        if args.port_file is not None:
            _write_port_file(Path(args.port_file), int(base_url.rsplit(":", 1)[1]))
        print(f"listening on {base_url}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def main(
    argv: list[str] | None = None,
    *,
    app_factory: AppFactory = make_app,
    prog: str = "python -m snoop_tui.demo.platform_api",
) -> int:
    """Serve `app_factory`'s app until SIGTERM or SIGINT (the tests pass their own app)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve the local AnyReach platform API on 127.0.0.1.",
    )
    parser.add_argument("--livekit-url", required=True, help="ws:// URL handed to listeners")
    parser.add_argument("--api-key", required=True, help="LiveKit API key for minting tokens")
    add_api_secret_option(parser)
    parser.add_argument("--port", type=int, default=0, help="TCP port (0 picks a free one)")
    parser.add_argument("--port-file", help="write the bound port to this file")
    parser.add_argument("--token-ttl", type=int, default=600, help="listener token TTL, seconds")
    args = parser.parse_args(argv)
    if not starter_alive():  # the stack that started us is gone: nobody to serve
        return 1
    asyncio.run(_serve(args, app_factory))
    return 0


if __name__ == "__main__":
    sys.exit(main())

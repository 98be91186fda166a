"""The demo platform API plus the faults the tests make it serve (tests only, never shipped).

`make_faulty_app` is `snoop_tui.demo.platform_api.make_app` with two additions:

- `PUT /_local/faults/{conversation_id}` with `{"fault": NAME}` (null mends it) chooses
  how that conversation's listener-token answers break; creating the conversation
  again (`PUT /_local/conversations/{id}`) mends it too. `GET /_local/faults/stats`
  says how much of the last `huge_body` answer was written.
- a middleware that lets the demo answer first, so 401/403/404/409 still come first as
  the platform documents, then breaks a 200 listener-token answer the chosen way.

The fixtures spawn it as `python -m tests.faulty_platform_api` (the demo module's flags).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from snoop_tui.demo.platform_api import (
    STATE,
    Handler,
    PlatformState,
    listener_grants,
    main,
    make_app,
    mint_token,
)

INSECURE_LIVEKIT_URL = "ws://calls.example.test:7880"
"""A plain-text call server on another machine; `.test` never resolves, nothing is contacted."""
HUGE_BODY_BYTES = 8 * 1024 * 1024
_HUGE_BODY_CHUNK = 64 * 1024
_EXPIRED = dt.timedelta(minutes=-5)
_TOKEN_ROUTE = "/core/conversations/{conversation_id}/listener-token"
_CONVERSATION_ROUTE = "/_local/conversations/{conversation_id}"
_BAD_GATEWAY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)
_LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in</title></head>"
    '<body><form action="/login"><input name="user"></form></body></html>'
)


def _error(status: int, detail: str) -> web.Response:
    return web.json_response({"detail": detail}, status=status)


def _unavailable() -> web.Response:
    return _error(503, "Service temporarily unavailable.")


# Answers that replace the listener token entirely.
_BROKEN: dict[str, Callable[[], web.Response]] = {
    "http_500": lambda: _error(500, "Internal server error."),
    "http_502_html": lambda: web.Response(
        status=502, text=_BAD_GATEWAY_PAGE, content_type="text/html"
    ),
    "not_json": lambda: web.Response(status=200, text="<<not json>>", content_type="text/plain"),
    "html_200": lambda: web.Response(status=200, text=_LOGIN_PAGE, content_type="text/html"),
    "always_503": _unavailable,
}
# Answers that fail the first N listener-token requests of a conversation, then recover.
_TRANSIENT: dict[str, tuple[int, Callable[[], web.Response]]] = {
    "rate_limited_once": (
        1,
        lambda: web.json_response(
            {"detail": "Too many requests."}, status=429, headers={"Retry-After": "1"}
        ),
    ),
    "flaky_503_twice": (2, _unavailable),
}
_UNSAFE_GRANTS: dict[str, dict[str, bool]] = {
    "publisher_token": {"can_publish": True},
    "publish_data_token": {"can_publish_data": True},
    "visible_token": {"hidden": False},
}


Mint = Callable[[PlatformState, str], tuple[str, dt.datetime]]
"""Mints a token for a room: (jwt, expiry)."""


def _unsafe_token(overrides: dict[str, bool]) -> Mint:
    def mint(state: PlatformState, room_name: str) -> tuple[str, dt.datetime]:
        grants = listener_grants(room_name)
        for name, value in overrides.items():
            setattr(grants, name, value)
        return mint_token(state, grants)

    return mint


# Real LiveKit tokens that a listener must refuse.
_TOKENS: dict[str, Mint] = {
    "expired_token": lambda state, room: mint_token(state, listener_grants(room), _EXPIRED),
    "wrong_room_token": lambda state, room: mint_token(state, listener_grants(f"{room}-elsewhere")),
    **{name: _unsafe_token(overrides) for name, overrides in _UNSAFE_GRANTS.items()},
}


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        body[key] = value

    return edit


# Edits of an otherwise valid answer's JSON.
_BODY_EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "missing_fields": lambda body: body.pop("token"),
    "wrong_types": _set("url", 42),
    "null_fields": _set("token", None),
    "insecure_url": _set("url", INSECURE_LIVEKIT_URL),
}
FAULTS = frozenset({*_BROKEN, *_TRANSIENT, *_TOKENS, *_BODY_EDITS, "slow", "huge_body"})


@dataclass
class FaultState:
    """Which conversation breaks how, and what the faults have done so far."""

    chosen: dict[str, str] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    """Listener-token requests per conversation since its fault was last chosen."""
    slow_seconds: float = 30.0
    huge_body_bytes_sent: int = 0
    """How much of the last `huge_body` answer was written before the client hung up."""
    shutting_down: asyncio.Event = field(default_factory=asyncio.Event)

    def choose(self, conversation_id: str, fault: str | None) -> None:
        self.hits.pop(conversation_id, None)
        if fault is None:
            self.chosen.pop(conversation_id, None)
        else:
            self.chosen[conversation_id] = fault


FAULT_STATE: web.AppKey[FaultState] = web.AppKey("faults", FaultState)


async def _huge_body(
    request: web.Request, faults: FaultState, body: dict[str, Any]
) -> web.StreamResponse:
    """A 200 whose JSON object is padded to several MB, sent in chunks without a length."""
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    head = json.dumps(body)[:-1] + ', "padding": "'
    faults.huge_body_bytes_sent = 0
    try:
        await response.write(head.encode())
        chunk = b"x" * _HUGE_BODY_CHUNK
        while faults.huge_body_bytes_sent < HUGE_BODY_BYTES:
            await response.write(chunk)
            faults.huge_body_bytes_sent += len(chunk)
        await response.write(b'"}')
        await response.write_eof()
    except ConnectionError:
        pass  # the client stopped reading, as it should
    return response


async def _break(
    request: web.Request, answer: web.Response, fault: str, hits: int
) -> web.StreamResponse:
    """`answer` (a valid 200 listener token) broken the way `fault` names."""
    faults = request.app[FAULT_STATE]
    if fault in _BROKEN:
        return _BROKEN[fault]()
    if fault in _TRANSIENT:
        failures, respond = _TRANSIENT[fault]
        return respond() if hits <= failures else answer
    if fault == "slow":
        try:
            await asyncio.wait_for(faults.shutting_down.wait(), timeout=faults.slow_seconds)
        except TimeoutError:
            return answer
        return _error(503, "Shutting down.")
    body: dict[str, Any] = json.loads(answer.text or "{}")
    if fault == "huge_body":
        return await _huge_body(request, faults, body)
    if fault in _TOKENS:
        body["token"], expires = _TOKENS[fault](request.app[STATE], body["room_name"])
        body["expires_at"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        _BODY_EDITS[fault](body)
    return web.json_response(body)


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else ""


@web.middleware
async def serve_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Break the chosen conversations' listener-token answers, after the demo's own checks."""
    answer = await handler(request)
    conversation_id = request.match_info.get("conversation_id")
    if conversation_id is None or answer.status != 200:
        return answer
    faults = request.app[FAULT_STATE]
    route = _route(request)
    if route == _CONVERSATION_ROUTE and request.method == "PUT":
        faults.choose(conversation_id, None)  # a new conversation starts without a fault
        return answer
    fault = faults.chosen.get(conversation_id)
    if route != _TOKEN_ROUTE or fault is None or not isinstance(answer, web.Response):
        return answer
    hits = faults.hits[conversation_id] = faults.hits.get(conversation_id, 0) + 1
    return await _break(request, answer, fault, hits)


async def choose_fault(request: web.Request) -> web.Response:
    conversation_id = request.match_info["conversation_id"]
    try:
        data = await request.json()
    except json.JSONDecodeError:
        return _error(400, "Body must be JSON.")
    fault = data.get("fault") if isinstance(data, dict) else None
    if fault is not None and fault not in FAULTS:
        return _error(400, f"Unknown fault {fault!r}.")
    if conversation_id not in request.app[STATE].conversations:
        return _error(404, "Conversation not found.")
    request.app[FAULT_STATE].choose(conversation_id, fault)
    return web.json_response({"fault": fault})


async def fault_stats(request: web.Request) -> web.Response:
    faults = request.app[FAULT_STATE]
    return web.json_response({"huge_body_bytes_sent": faults.huge_body_bytes_sent})


async def _wake_slow_answers(app: web.Application) -> None:
    app[FAULT_STATE].shutting_down.set()


def make_faulty_app(state: PlatformState) -> web.Application:
    """The demo platform API's app, able to break listener-token answers on request."""
    app = make_app(state)
    app[FAULT_STATE] = FaultState()
    app.middlewares.append(serve_faults)
    app.on_shutdown.append(_wake_slow_answers)
    app.router.add_put("/_local/faults/{conversation_id}", choose_fault)
    app.router.add_get("/_local/faults/stats", fault_stats)
    return app


if __name__ == "__main__":
    sys.exit(main(app_factory=make_faulty_app, prog="python -m tests.faulty_platform_api"))

"""Listing the live calls: every page, every active status, each call once, newest first.

The walks run against the real local platform API (a module's own, cleared per test);
bodies no platform should send come from httpx's MockTransport.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from snoop_tui.errors import (
    BadPlatformResponse,
    MissingScope,
    PlatformTimeout,
    PlatformUnavailable,
    Unauthorized,
)
from snoop_tui.platform import PlatformClient
from snoop_tui.settings import Secret, Settings
from tests.fixtures_stack import PlatformApi

NOW = datetime.now(UTC).replace(microsecond=0)
MOCKED = Settings(api_url="http://127.0.0.1:9", credential=Secret("ak_demo_sensitive"))
"""For answers from httpx's MockTransport: nothing is contacted."""


def iso(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def conversation(
    conversation_id: str, status: str = "in_progress", seconds_ago: float = 0, **fields: Any
) -> dict[str, Any]:
    return {"id": conversation_id, "status": status, "created_at": iso(seconds_ago), **fields}


class RecordingTransport(httpx.AsyncHTTPTransport):
    """The real HTTP transport, keeping the query of every request sent."""

    def __init__(self) -> None:
        super().__init__(trust_env=False)
        self.queries: list[dict[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.queries.append(dict(request.url.params))
        return await super().handle_async_request(request)

    def for_status(self, status: str) -> list[dict[str, str]]:
        return [q for q in self.queries if q.get("status") == status]


def client_for(api: PlatformApi, credential: str = "ak_demo_sensitive", **options: Any) -> Any:
    settings = Settings(api_url=api.base_url, credential=Secret(credential), **options)
    return PlatformClient(settings, backoff=0.01)


def mocked(handler: Callable[[httpx.Request], Any], **settings: Any) -> PlatformClient:
    return PlatformClient(
        Settings(**{**MOCKED.__dict__, **settings}),
        transport=httpx.MockTransport(handler),
        backoff=0.01,
    )


# -- against the real local platform API ------------------------------------------


async def test_listing_walks_every_page_by_cursor_newest_first(
    empty_platform_api: PlatformApi,
) -> None:
    calls = [conversation(f"conv_page_{n:02d}", seconds_ago=n * 7) for n in range(45)]
    empty_platform_api.put_conversations(calls[::-1])
    transport = RecordingTransport()
    settings = Settings(api_url=empty_platform_api.base_url, credential=Secret("ak_demo_manage"))
    async with PlatformClient(settings, transport=transport) as client:
        listed = await client.list_live_conversations(page_size=20)

    assert [c.id for c in listed] == [c["id"] for c in calls]
    assert all(c.status == "in_progress" for c in listed)
    pages = transport.for_status("in_progress")
    cursor = [base64.b64encode(calls[n]["created_at"].encode()).decode() for n in (19, 39)]
    assert pages == [
        {"status": "in_progress", "limit": "20"},
        {"status": "in_progress", "limit": "20", "cursor": cursor[0]},
        {"status": "in_progress", "limit": "20", "cursor": cursor[1]},
    ]
    assert len(transport.for_status("ringing")) == len(transport.for_status("triggered")) == 1
    assert not transport.for_status("token_created")


async def test_listing_holds_triggered_ringing_and_in_progress_only(
    empty_platform_api: PlatformApi,
) -> None:
    statuses = ["triggered", "ringing", "in_progress", "token_created"]
    statuses += ["completed", "failed", "cancelled", "transferred", "unanswered"]
    empty_platform_api.put_conversations(
        [conversation(f"conv_{s}", s, seconds_ago=i) for i, s in enumerate(statuses)]
    )
    async with client_for(empty_platform_api) as client:
        listed = await client.list_live_conversations()
    assert [(c.id, c.status) for c in listed] == [
        ("conv_triggered", "triggered"),
        ("conv_ringing", "ringing"),
        ("conv_in_progress", "in_progress"),
    ]


class MovingOnTransport(RecordingTransport):
    """The real transport; once `after` listing answers have come back, `conversation_id`
    moves one status on, as a call answered while the board refreshes does."""

    def __init__(self, api: PlatformApi, conversation_id: str, status: str, after: int) -> None:
        super().__init__()
        self._move = (api.base_url, conversation_id, status)
        self._after = after

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if len(self.queries) == self._after:
            base_url, conversation_id, status = self._move
            async with httpx.AsyncClient(base_url=base_url, trust_env=False) as admin:
                moved = await admin.patch(
                    f"/_local/conversations/{conversation_id}", json={"status": status}
                )
                moved.raise_for_status()
        return await super().handle_async_request(request)


@pytest.mark.parametrize("after", [0, 1, 2, 3])
@pytest.mark.parametrize(("before", "now"), [("triggered", "ringing"), ("ringing", "in_progress")])
async def test_a_call_that_moves_on_while_the_listing_is_taken_stays_listed(
    empty_platform_api: PlatformApi, before: str, now: str, after: int
) -> None:
    """Whichever walk it falls between, it is listed once (and the board never shows it
    ended for a refresh, then back)."""
    empty_platform_api.put_conversations(
        [conversation("conv_moving", before, seconds_ago=5), conversation("conv_still")]
    )
    transport = MovingOnTransport(empty_platform_api, "conv_moving", now, after)
    settings = Settings(api_url=empty_platform_api.base_url, credential=Secret("ak_demo_manage"))
    async with PlatformClient(settings, transport=transport) as client:
        listed = await client.list_live_conversations()
    assert len(transport.queries) == 3  # the move came mid-listing (or just before it)
    assert [c.id for c in listed] == ["conv_still", "conv_moving"]
    assert listed[1].status in (before, now)


async def test_listing_reads_every_field_with_a_sensitive_credential(
    empty_platform_api: PlatformApi,
) -> None:
    empty_platform_api.put_conversations(
        [
            conversation(
                "conv_full",
                "ringing",
                seconds_ago=65,
                agent_id="agent_tech",
                agent_name="Tech Support",
                agent_number="+18005550123",
                user_id="+12125550142",
                direction="outbound",
            ),
            conversation("conv_mail", seconds_ago=5, channel="email", room_name=None),
        ]
    )
    async with client_for(empty_platform_api) as client:
        mail, full = await client.list_live_conversations()
    assert full.agent_name == "Tech Support" and full.agent_id == "agent_tech"
    assert (full.caller, full.agent_number) == ("+12125550142", "+18005550123")
    assert (full.channel, full.direction, full.duration) == ("telephone", "outbound", 0.0)
    assert full.created_at == NOW - timedelta(seconds=65)
    assert full.listenable
    assert mail.channel == "email" and not mail.listenable
    assert mail.not_listenable_reason == "email conversations have no audio"


async def test_a_read_only_credential_sees_fewer_fields_and_the_listing_copes(
    empty_platform_api: PlatformApi,
) -> None:
    empty_platform_api.put_conversations([conversation("conv_ro", agent_name="Retention Desk")])
    raw = httpx.get(
        f"{empty_platform_api.base_url}/core/conversations",
        headers={"Authorization": "Bearer ak_demo_readonly"},
        trust_env=False,
    ).json()
    assert "user_id" not in raw[0] and "agent_number" not in raw[0]
    async with client_for(empty_platform_api, "ak_demo_readonly") as client:
        (listed,) = await client.list_live_conversations()
    assert listed.id == "conv_ro" and listed.agent_name == "Retention Desk"
    assert listed.caller is None and listed.agent_number is None


@pytest.mark.parametrize(
    ("credential", "org", "error", "words"),
    [
        ("ak_wrong_key", None, Unauthorized, "(401)"),
        ("pat_demo_sensitive", "org_other", Unauthorized, "(401)"),
        ("ak_demo_agents_only", None, MissingScope, "may not list conversations (403)"),
    ],
)
async def test_refused_credentials_are_mapped(
    own_platform_api: PlatformApi,
    credential: str,
    org: str | None,
    error: type[Exception],
    words: str,
) -> None:
    async with client_for(own_platform_api, credential, org=org) as client:
        with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
            await client.list_live_conversations()


def test_the_platform_api_filters_by_one_exact_status_and_pages_strictly_older(
    empty_platform_api: PlatformApi,
) -> None:
    empty_platform_api.put_conversations(
        [conversation(f"conv_r{n}", "ringing", seconds_ago=n) for n in range(25)]
        + [conversation("conv_live", seconds_ago=0.5)]
    )
    auth = {"Authorization": "Bearer ak_demo_sensitive"}
    with httpx.Client(base_url=empty_platform_api.base_url, headers=auth, trust_env=False) as http:

        def ids(**params: Any) -> list[str]:
            response = http.get("/core/conversations", params=params)
            assert response.status_code == 200, response.text
            return [c["id"] for c in response.json()]

        assert ids(status="ringing") == [f"conv_r{n}" for n in range(20)]  # default limit 20
        assert ids(status="in_progress") == ["conv_live"]
        assert ids(status="ringing,in_progress") == []  # one status, exactly
        cursor = base64.b64encode(iso(3).encode()).decode()
        assert ids(status="ringing", limit=2, cursor=cursor) == ["conv_r4", "conv_r5"]
        assert ids(limit=3) == ["conv_r0", "conv_live", "conv_r1"]
        assert ids(status="ringing", limit=100)[-1] == "conv_r24"
        refused: list[tuple[dict[str, Any], int]] = [
            ({"limit": 101}, 422),
            ({"limit": 0}, 422),
            ({"cursor": "!"}, 400),
        ]
        for params, code in refused:
            response = http.get("/core/conversations", params=params)
            assert response.status_code == code and response.json()["detail"]


# -- bodies no platform should send ------------------------------------------------


def page(*items: Any) -> Callable[[httpx.Request], httpx.Response]:
    """Answers the in_progress walk with `items`, the other statuses with nothing."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params["status"] != "in_progress":
            return httpx.Response(200, json=[])
        return httpx.Response(200, json=list(items))

    return answer


async def test_a_malformed_item_is_skipped_and_the_rest_listed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = {"id": "conv_ok", "status": "in_progress", "agent": {"name": "Billing Assistant"}}
    odd = {"id": "conv_odd", "status": "in_progress", "agent": 7, "created_at": 5, "user_id": []}
    broken = ["x", {"status": "in_progress"}, {"id": 9, "status": "in_progress"}, None]
    async with mocked(page(good, *broken, odd)) as client:
        listed = await client.list_live_conversations()
    assert [c.id for c in listed] == ["conv_ok", "conv_odd"]
    assert listed[1].agent_name is None and listed[1].created_at is None
    assert caplog.text.count("skipped an item without a usable id/status") == 4


async def test_items_of_other_statuses_are_left_out() -> None:
    """A platform that ignored the status filter still lists only live calls."""
    items = [
        {"id": "conv_done", "status": "completed"},
        {"id": "conv_new", "status": "token_created"},
        {"id": "conv_on", "status": "in_progress"},
    ]
    async with mocked(lambda request: httpx.Response(200, json=items)) as client:
        listed = await client.list_live_conversations()
    assert [(c.id, c.status) for c in listed] == [("conv_on", "in_progress")]


async def test_a_call_seen_ringing_and_in_progress_is_listed_once_in_progress() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        status = request.url.params["status"]
        if status == "triggered":
            return httpx.Response(200, json=[])
        return httpx.Response(200, json=[{"id": "conv_1", "status": status}])

    async with mocked(answer) as client:
        listed = await client.list_live_conversations()
    assert [(c.id, c.status) for c in listed] == [("conv_1", "in_progress")]


@pytest.mark.parametrize(
    "body",
    [{"items": []}, {"id": "conv_1", "status": "in_progress"}, "in_progress", 3, None],
    ids=["wrapped", "object", "string", "number", "null"],
)
async def test_a_body_that_is_not_an_array_is_a_bad_response(body: object) -> None:
    answer = httpx.Response(200, content=json.dumps(body).encode())
    async with mocked(lambda request: answer) as client:
        with pytest.raises(BadPlatformResponse, match="not a JSON array"):
            await client.list_live_conversations()


async def test_a_body_that_is_not_json_is_a_bad_response() -> None:
    answer = httpx.Response(200, text="<html>Sign in</html>", headers={"content-type": "text/html"})
    async with mocked(lambda request: answer) as client:
        with pytest.raises(BadPlatformResponse, match="web page"):
            await client.list_live_conversations()


async def test_no_listing_at_that_address_is_a_bad_response() -> None:
    async with mocked(lambda request: httpx.Response(404, json={"detail": "Not Found"})) as client:
        with pytest.raises(BadPlatformResponse, match=r"no conversation listing .*\(404\)"):
            await client.list_live_conversations()


async def test_a_platform_that_pages_forever_is_stopped_at_the_page_bound() -> None:
    served = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal served
        served += 1
        items = [{"id": f"conv_{served}_{n}", "status": "in_progress"} for n in range(2)]
        items[-1]["created_at"] = iso(served)
        return httpx.Response(200, json=items)

    async with mocked(answer) as client:
        listed = await client.list_live_conversations(["in_progress"], page_size=2, max_pages=5)
    assert served == 5 and len(listed) == 10


async def test_a_platform_that_ignores_the_cursor_is_not_asked_again_and_again() -> None:
    queries: list[dict[str, str]] = []
    items = [conversation(f"conv_{n}", seconds_ago=n) for n in range(3)]

    def answer(request: httpx.Request) -> httpx.Response:
        queries.append(dict(request.url.params))
        return httpx.Response(200, json=items)

    async with mocked(answer) as client:
        listed = await client.list_live_conversations(["in_progress"], page_size=3)
    assert len(queries) == 2 and [c.id for c in listed] == ["conv_0", "conv_1", "conv_2"]


async def test_a_full_page_without_created_at_ends_the_walk() -> None:
    items = [{"id": f"conv_{n}", "status": "in_progress"} for n in range(2)]
    queries: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        queries.append(request)
        return httpx.Response(200, json=items)

    async with mocked(answer) as client:
        listed = await client.list_live_conversations(["in_progress"], page_size=2)
    assert len(queries) == 1 and len(listed) == 2


async def test_the_whole_listing_is_bounded_in_time() -> None:
    """Each page comes in time, but a platform that keeps paging slowly is cut off."""
    served = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal served
        served += 1
        await asyncio.sleep(0.2)
        return httpx.Response(200, json=[conversation(f"conv_{served}", seconds_ago=served)])

    async with mocked(answer) as client:
        with pytest.raises(PlatformTimeout, match=r"did not list the live calls within 0\.5 s"):
            await client.list_live_conversations(page_size=1, deadline=0.5)
    assert served < 12


async def test_a_failing_platform_is_retried_then_reported() -> None:
    attempts: dict[str, int] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        status = request.url.params["status"]
        attempts[status] = attempts.get(status, 0) + 1
        if status == "ringing":
            return httpx.Response(503, json={"detail": "down"})
        return httpx.Response(200, json=[])

    async with mocked(answer) as client:
        with pytest.raises(PlatformUnavailable, match=r"\(503\)"):
            await client.list_live_conversations()
    assert attempts["ringing"] == 3  # the first try and two retries


def test_the_listing_path_is_configurable() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, content=json.dumps([]).encode())

    async def run() -> None:
        async with mocked(answer, conversations_path="/v2/calls") as client:
            assert await client.list_live_conversations() == []

    asyncio.run(run())
    assert seen == ["/v2/calls"] * 3

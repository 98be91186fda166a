"""The local stack answers like the platform and LiveKit Agents: checked over real sockets."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from livekit import api, rtc
from livekit.api.access_token import Claims

from snoop_tui.demo import livekit_server as livekit_module
from snoop_tui.demo import stack as stack_module
from snoop_tui.demo.call import SimulatedCall, Turn
from snoop_tui.demo.livekit_server import STOP_GRACE, LiveKitServerError, LocalLiveKitServer
from snoop_tui.demo.platform_api import PlatformState, start_platform_api
from snoop_tui.demo.stack import LocalStack, ManagedProcess, StackError, spawn_call
from snoop_tui.errors import ConfigError
from tests.fixtures_stack import PlatformApi

SHORT_SCRIPT = [
    Turn("agent", "Hello, billing desk, how can I help?"),
    Turn("caller", "My bill is twice what it usually is this month."),
    Turn("agent", "Let me check that meter reading for you."),
    Turn("caller", "Thank you very much."),
]


def post_token(
    platform_api: PlatformApi, conversation_id: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    url = f"{platform_api.base_url}/core/conversations/{conversation_id}/listener-token"
    auth = {"Authorization": "Bearer ak_demo_sensitive"} if headers is None else headers
    return httpx.post(url, headers=auth, json={}, trust_env=False, timeout=5.0)


def listener_token(platform_api: PlatformApi, conversation_id: str) -> dict[str, Any]:
    response = post_token(platform_api, conversation_id)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def verify(platform_api: PlatformApi, token: str) -> Claims:
    livekit = platform_api.livekit
    return api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(token)


# -- the platform API ---------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer ak_demo_sensitive"},
        {"Authorization": "Bearer ak_demo_manage"},
        {"Authorization": "Bearer pat_demo_sensitive", "X-Anyreach-Org": "org_demo"},
    ],
)
def test_listener_token_is_hidden_and_subscribe_only(
    platform_api: PlatformApi, new_conversation: tuple[str, str], headers: dict[str, str]
) -> None:
    conversation_id, room_name = new_conversation
    response = post_token(platform_api, conversation_id, headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"url", "token", "room_name", "expires_at"}
    assert body["url"] == platform_api.livekit.url
    assert body["room_name"] == room_name
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    remaining = expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=9) < remaining <= dt.timedelta(minutes=10)
    claims = verify(platform_api, body["token"])
    assert claims.identity.startswith("observer-")
    assert claims.name == "Supervisor"
    assert claims.video is not None
    assert claims.video.room_join is True
    assert claims.video.room == room_name
    assert claims.video.hidden is True
    assert claims.video.can_subscribe is True
    assert claims.video.can_publish is False
    assert claims.video.can_publish_data is False


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 401),
        ({"Authorization": "Bearer ak_nope"}, 401),
        ({"Authorization": "Basic ak_demo_sensitive"}, 401),
        ({"Authorization": "Bearer pat_demo_sensitive"}, 401),
        ({"Authorization": "Bearer pat_demo_sensitive", "X-Anyreach-Org": "org_other"}, 401),
        ({"Authorization": "Bearer ak_demo_readonly"}, 403),
    ],
    ids=["missing", "invalid", "not-bearer", "pat-without-org", "pat-wrong-org", "readonly"],
)
def test_listener_token_refuses_bad_credentials(
    platform_api: PlatformApi,
    new_conversation: tuple[str, str],
    headers: dict[str, str],
    expected: int,
) -> None:
    response = post_token(platform_api, new_conversation[0], headers)
    assert response.status_code == expected
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (None, 404),
        ({"status": "in_progress", "room_name": None}, 404),
        ({"status": "completed", "room_name": "call-over"}, 409),
        ({"status": "token_created", "room_name": "call-soon"}, 409),
        ({"status": "ringing", "room_name": "call-ringing"}, 200),
        ({"status": "triggered", "room_name": "call-triggered"}, 200),
    ],
    ids=["unknown", "no-room", "completed", "token-created", "ringing", "triggered"],
)
def test_listener_token_follows_conversation_status(
    platform_api: PlatformApi, fields: dict[str, Any] | None, expected: int
) -> None:
    conversation_id = f"conv_status_{expected}_{os.urandom(3).hex()}"
    if fields is not None:
        platform_api.put_conversation(conversation_id, **fields)
    response = post_token(platform_api, conversation_id)
    assert response.status_code == expected
    if expected != 200:
        assert response.json()["detail"]


def test_conversation_ending_closes_the_token_door(
    platform_api: PlatformApi, new_conversation: tuple[str, str]
) -> None:
    conversation_id, _ = new_conversation
    assert post_token(platform_api, conversation_id).status_code == 200
    platform_api.patch_conversation(conversation_id, status="completed")
    assert post_token(platform_api, conversation_id).status_code == 409


def test_conversations_can_be_read_and_listed(
    platform_api: PlatformApi, new_conversation: tuple[str, str]
) -> None:
    conversation_id, _ = new_conversation
    readonly = {"Authorization": "Bearer ak_demo_readonly"}
    with httpx.Client(base_url=platform_api.base_url, trust_env=False, timeout=5.0) as client:
        one = client.get(f"/core/conversations/{conversation_id}", headers=readonly)
        assert one.status_code == 200
        body = one.json()
        assert body["id"] == conversation_id
        assert body["status"] == "in_progress"
        assert set(body["agent"]) == {"id", "name"}
        for key in ("agent_number", "user_id", "channel", "direction", "duration"):
            assert key in body
        assert body["created_at"].endswith("Z")
        assert client.get(f"/core/conversations/{conversation_id}").status_code == 401
        assert client.get("/core/conversations/conv_missing", headers=readonly).status_code == 404
        active = client.get(
            "/core/conversations", params={"status": "in_progress"}, headers=readonly
        )
        assert conversation_id in {c["id"] for c in active.json()}
        assert all(c["status"] == "in_progress" for c in active.json())
        done = client.get("/core/conversations", params={"status": "completed"}, headers=readonly)
        assert conversation_id not in {c["id"] for c in done.json()}


def test_request_log_counts_calls_without_secrets(
    platform_api: PlatformApi, new_conversation: tuple[str, str]
) -> None:
    conversation_id, _ = new_conversation
    platform_api.clear_requests()
    post_token(platform_api, conversation_id)
    post_token(platform_api, conversation_id, {"Authorization": "Bearer ak_demo_readonly"})
    log = platform_api.requests()
    path = f"/core/conversations/{conversation_id}/listener-token"
    assert [r for r in log if r["path"] == path] == [
        {"method": "POST", "path": path, "status": 200},
        {"method": "POST", "path": path, "status": 403},
    ]
    assert "ak_demo" not in str(log)


@pytest.mark.parametrize(
    "fault",
    ["http_500", "http_502_html", "not_json", "missing_fields", "wrong_types"],
)
def test_faults_break_the_response_as_designed(
    platform_api: PlatformApi, new_conversation: tuple[str, str], fault: str
) -> None:
    conversation_id, room_name = new_conversation
    platform_api.patch_conversation(conversation_id, fault=fault)
    response = post_token(platform_api, conversation_id)
    content_type = response.headers["content-type"]
    if fault == "http_500":
        assert response.status_code == 500 and response.json()["detail"]
    elif fault == "http_502_html":
        assert response.status_code == 502 and content_type.startswith("text/html")
    elif fault == "not_json":
        assert response.status_code == 200 and content_type.startswith("text/plain")
        with pytest.raises(ValueError):
            response.json()
    elif fault == "missing_fields":
        assert response.status_code == 200 and "token" not in response.json()
    else:
        assert response.status_code == 200 and response.json()["url"] == 42


@pytest.mark.parametrize(
    ("fault", "grant", "value"),
    [
        ("publisher_token", "can_publish", True),
        ("publish_data_token", "can_publish_data", True),
        ("visible_token", "hidden", False),
    ],
)
def test_unsafe_token_faults_mint_real_but_unsafe_tokens(
    platform_api: PlatformApi,
    new_conversation: tuple[str, str],
    fault: str,
    grant: str,
    value: bool,
) -> None:
    conversation_id, room_name = new_conversation
    platform_api.patch_conversation(conversation_id, fault=fault)
    claims = verify(platform_api, listener_token(platform_api, conversation_id)["token"])
    assert claims.video is not None and claims.video.room == room_name
    assert getattr(claims.video, grant) is value


def test_slow_fault_does_not_answer_in_time(
    platform_api: PlatformApi, new_conversation: tuple[str, str]
) -> None:
    conversation_id, _ = new_conversation
    platform_api.patch_conversation(conversation_id, fault="slow")
    url = f"{platform_api.base_url}/core/conversations/{conversation_id}/listener-token"
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url, headers={"Authorization": "Bearer ak_demo_sensitive"}, timeout=0.5)


async def test_shipped_platform_api_serves_no_faults() -> None:
    """Fault injection lives in tests/ only; the demo's own API refuses to break."""
    state = PlatformState("ws://127.0.0.1:1", "devkey", "a-demo-secret-that-is-long-enough")
    runner, base_url = await start_platform_api(state)
    try:
        async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=5) as client:
            local = "/_local/conversations/conv_1"
            refused = await client.put(local, json={"room_name": "call-1", "fault": "slow"})
            assert refused.status_code == 400 and "fault" in refused.json()["detail"]
            assert (await client.put(local, json={"room_name": "call-1"})).status_code == 200
            assert (await client.put("/_local/faults/conv_1", json={})).status_code == 404
            token = await client.post(
                "/core/conversations/conv_1/listener-token",
                headers={"Authorization": "Bearer ak_demo_sensitive"},
            )
            assert token.status_code == 200 and token.json()["room_name"] == "call-1"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_platform_api_process_announces_itself_and_exits_cleanly(
    livekit_server: LocalLiveKitServer, signum: int
) -> None:
    argv = [sys.executable, "-m", "snoop_tui.demo.platform_api", "--livekit-url"]
    argv += [livekit_server.url, "--api-key", "k", "--api-secret", "s" * 32]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            line = process.stdout.readline()
            assert line.startswith("listening on http://127.0.0.1:")
            process.send_signal(signum)
            assert process.wait(timeout=10) == 0
            assert process.stderr.read() == ""
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


# -- livekit-server -----------------------------------------------------------------


@pytest.mark.stack
def test_livekit_server_pauses_resumes_and_restarts_on_the_same_port() -> None:
    with LocalLiveKitServer() as server:
        url, first_pid = server.url, server.pid
        server.pause()
        with pytest.raises(httpx.TimeoutException):
            httpx.get(server.http_url, timeout=0.3, trust_env=False)
        server.resume()
        assert httpx.get(server.http_url, timeout=2, trust_env=False).status_code == 200
        server.restart()
        assert server.url == url and server.pid != first_pid
        assert httpx.get(server.http_url, timeout=2, trust_env=False).status_code == 200
    with pytest.raises(ProcessLookupError):
        os.kill(first_pid, 0)


def test_missing_livekit_server_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SNOOP_LIVEKIT_SERVER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(livekit_module, "REPO_ROOT", tmp_path)
    with pytest.raises(LiveKitServerError, match="scripts/setup"):
        LocalLiveKitServer().start()


# -- the simulated call, as a hidden observer hears it ------------------------------


@dataclass
class Observer:
    """A raw rtc.Room joined with a listener token, recording what it receives."""

    room: rtc.Room = field(default_factory=rtc.Room)
    streams: list[tuple[str, asyncio.Task[tuple[dict[str, str], str]]]] = field(
        default_factory=list
    )
    tracks: dict[str, rtc.Track] = field(default_factory=dict)
    track_sids: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    left: list[str] = field(default_factory=list)

    async def join(self, url: str, token: str) -> None:
        self.room.register_text_stream_handler("lk.transcription", self._on_stream)
        self.room.on("track_subscribed", self._on_track)
        self.room.on("participant_disconnected", lambda p: self.left.append(p.identity))
        await self.room.connect(url, token)

    def _on_stream(self, reader: rtc.TextStreamReader, identity: str) -> None:
        async def read() -> tuple[dict[str, str], str]:
            text = await reader.read_all()
            return dict(reader.info.attributes or {}), text

        self.streams.append((identity, asyncio.create_task(read())))

    def _on_track(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        self.tracks[participant.identity] = track
        self.track_sids[participant.identity] = publication.sid
        self.kinds[participant.identity] = participant.kind

    async def received(self) -> list[tuple[str, dict[str, str], str]]:
        results = await asyncio.gather(*(task for _, task in self.streams))
        return [
            (identity, attrs, text)
            for (identity, _), (attrs, text) in zip(self.streams, results, strict=True)
        ]


async def observe(platform_api: PlatformApi, conversation_id: str) -> Observer:
    body = listener_token(platform_api, conversation_id)
    observer = Observer()
    await observer.join(body["url"], body["token"])
    return observer


def make_call(platform_api: PlatformApi, room_name: str, **options: Any) -> SimulatedCall:
    livekit = platform_api.livekit
    options.setdefault("words_per_second", 20)
    options.setdefault("pause_between_turns", 0.05)
    return SimulatedCall(
        livekit.url, livekit.api_key, livekit.api_secret, room_name, SHORT_SCRIPT, **options
    )


async def test_observer_hears_both_sides_and_each_final_once_in_order(
    platform_api: PlatformApi, new_conversation: tuple[str, str]
) -> None:
    conversation_id, room_name = new_conversation
    observer = await observe(platform_api, conversation_id)
    call = make_call(platform_api, room_name)
    try:
        await asyncio.wait_for(call.run(), timeout=30)
        received = await asyncio.wait_for(observer.received(), timeout=5)
    finally:
        await observer.room.disconnect()

    agent, caller = call.agent_identity, call.caller_identity
    assert set(observer.tracks) == {agent, caller}
    assert observer.kinds == {
        agent: rtc.ParticipantKind.PARTICIPANT_KIND_AGENT,
        caller: rtc.ParticipantKind.PARTICIPANT_KIND_SIP,
    }
    assert all(t.kind == rtc.TrackKind.KIND_AUDIO for t in observer.tracks.values())
    finals = [
        (attrs["lk.segment_id"], identity, text)
        for identity, attrs, text in received
        if attrs["lk.transcription_final"] == "true"
    ]
    roles = {"agent": agent, "caller": caller}
    assert finals == [(s.segment_id, roles[s.role], s.text) for s in call.published_finals]
    assert [s.segment_id for s in call.published_finals] == [
        "SG_0001",
        "SG_0002",
        "SG_0003",
        "SG_0004",
    ]
    for identity, attrs, text in received:
        assert attrs["lk.transcribed_track_id"] == observer.track_sids[identity]
        assert text
    caller_interims = [
        text
        for identity, attrs, text in received
        if identity == caller and attrs["lk.segment_id"] == "SG_0002"
    ]
    assert len(caller_interims) > 1 and caller_interims[-1] == SHORT_SCRIPT[1].text
    assert all(SHORT_SCRIPT[1].text.startswith(text) for text in caller_interims)
    observer_identity = observer.room.local_participant.identity
    assert observer_identity not in call.seen_participants
    assert caller in call.seen_participants


async def test_agent_leaving_ends_the_call(
    platform_api: PlatformApi, new_conversation: tuple[str, str]
) -> None:
    conversation_id, room_name = new_conversation
    observer = await observe(platform_api, conversation_id)
    call = make_call(platform_api, room_name, loops=None)
    runner = asyncio.create_task(call.run())
    try:
        await asyncio.wait_for(call.started.wait(), timeout=15)
        await asyncio.sleep(0.5)
        await call.leave_agent()
        await asyncio.wait_for(runner, timeout=10)
        for _ in range(50):
            if len(observer.left) == 2:
                break
            await asyncio.sleep(0.1)
    finally:
        await call.stop()
        await observer.room.disconnect()
    assert call.agent_left.is_set()
    assert observer.left == [call.agent_identity, call.caller_identity]


def dominant_hz(frames: list[rtc.AudioFrame]) -> float:
    samples = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(samples), 1 / 48000)[int(np.argmax(spectrum))])


async def test_continuous_audio_carries_each_sides_tone(
    platform_api: PlatformApi, new_conversation: tuple[str, str]
) -> None:
    conversation_id, room_name = new_conversation
    observer = await observe(platform_api, conversation_id)
    call = make_call(platform_api, room_name, loops=None, continuous_audio=True)
    runner = asyncio.create_task(call.run())
    try:
        await asyncio.wait_for(call.started.wait(), timeout=15)
        for _ in range(50):
            if len(observer.tracks) == 2:
                break
            await asyncio.sleep(0.1)
        tones = {}
        for identity, track in observer.tracks.items():
            stream = rtc.AudioStream(track, sample_rate=48000, num_channels=1)
            frames: list[rtc.AudioFrame] = []
            async for event in stream:
                if np.abs(np.frombuffer(event.frame.data, dtype=np.int16)).max() > 1000:
                    frames.append(event.frame)
                if len(frames) >= 50:
                    break
            await stream.aclose()
            tones[identity] = dominant_hz(frames)
    finally:
        await call.stop()
        await runner
        await observer.room.disconnect()
    assert abs(tones[call.agent_identity] - 440) < 10
    assert abs(tones[call.caller_identity] - 660) < 10


async def test_stop_ends_a_call_that_would_loop_forever(
    platform_api: PlatformApi, new_conversation: tuple[str, str]
) -> None:
    call = make_call(platform_api, new_conversation[1], loops=None)
    runner = asyncio.create_task(call.run())
    await asyncio.wait_for(call.started.wait(), timeout=15)
    await asyncio.wait_for(call.stop(), timeout=5)
    await asyncio.wait_for(runner, timeout=1)
    assert call.finished.is_set()


def wait_for_line(process: ManagedProcess, text: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in process.log_path.read_text():
        process.check_alive()
        assert time.monotonic() < deadline, process.log_path.read_text()
        time.sleep(0.1)


def test_call_process_exits_cleanly_on_sigterm(
    platform_api: PlatformApi, new_conversation: tuple[str, str], tmp_path: Path
) -> None:
    process = spawn_call(platform_api.livekit, new_conversation[1], tmp_path, loops=None)
    try:
        wait_for_line(process, "call running")
        os.kill(process.pid, signal.SIGTERM)
        for _ in range(50):
            if process.poll() is not None:
                break
            time.sleep(0.1)
        assert process.poll() == 0, process.log_path.read_text()
        assert "Traceback" not in process.log_path.read_text()
    finally:
        process.stop()


def test_a_demo_process_told_to_stop_ends_within_its_grace_however_its_stop_went() -> None:
    """A simulated call or the platform API, told to stop, ends within `STOP_GRACE` seconds
    even when its orderly stop hangs (here: it sleeps on), so the demo leaves nothing behind."""
    grace = 0.5
    hung = f"import time; from {livekit_module.__name__} import exit_within as e; e({grace}); "
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-c", hung + "time.sleep(60)"], timeout=50)
    assert run.returncode == 0
    assert time.monotonic() - started < 30  # not the minute its stop would have taken
    assert grace < STOP_GRACE < stack_module.STOP_TIMEOUT  # the stack's SIGKILL comes later


# -- the demo stack -----------------------------------------------------------------


async def test_demo_without_its_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stack_module, "find_spec", lambda name: None)
    stack = LocalStack()
    with pytest.raises(ConfigError, match=r"pip install 'snoop-tui\[demo\]'"):
        async with stack:
            pass
    with pytest.raises(StackError):
        _ = stack.log_dir  # nothing was started


@pytest.mark.stack
async def test_local_stack_starts_and_leaves_no_process_behind() -> None:
    async with LocalStack(loops=1, words_per_second=20) as stack:
        pids = stack.pids
        log_dir = stack.log_dir
        assert len(pids) == 3
        async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
            response = await client.post(
                f"{stack.api_url}/core/conversations/{stack.conversation_id}/listener-token",
                headers={"Authorization": f"Bearer {stack.credential}"},
            )
        assert response.status_code == 200
        assert response.json()["room_name"] == "call-conv_demo"
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not log_dir.exists()


@pytest.mark.stack
async def test_local_stack_cleans_up_when_cancelled() -> None:
    entered = asyncio.Event()
    pids: list[int] = []

    async def hold_stack() -> None:
        async with LocalStack(loops=None) as stack:
            pids.extend(stack.pids)
            entered.set()
            await asyncio.sleep(60)

    holder = asyncio.create_task(hold_stack())
    await asyncio.wait_for(entered.wait(), timeout=30)
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    assert len(pids) == 3
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

"""`snoop-tui tail` as a script runs it: its own process, on the real local stack.

The command joins a simulated call's room as the hidden observer (through a real call
process), prints what is said, and ends with the call; its output goes to a pipe, as
in `snoop-tui tail ID | grep ...`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from snoop_tui import errors
from snoop_tui.demo.livekit_server import LocalLiveKitServer
from tests.fixtures_stack import REPO_ROOT, PlatformApi
from tests.live import LiveCall, list_participants, running_call
from tests.mischief import MARKUP_AND_ESCAPES, Mischief

CREDENTIAL = "ak_demo_sensitive"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}")
LINE = re.compile(r"^(\d\d):(\d\d) (Agent|Caller|[^:]+): (.*)$")
TIMEOUT = 60.0


def _env(base_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "ANYREACH_API_URL": base_url,
        "ANYREACH_TOKEN": CREDENTIAL,
        "ANYREACH_CONFIG": "/nonexistent",
    }


async def _spawn(base_url: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "snoop_tui",
        "tail",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(base_url),
        cwd=REPO_ROOT,
    )


async def _hidden_in_room(server: LocalLiveKitServer, room: str) -> bool:
    return any(p.permission.hidden for p in await list_participants(server, room))


async def _until_listening(server: LocalLiveKitServer, live: LiveCall) -> None:
    """Wait until the tail's observer is in the room (and a moment to settle in)."""
    deadline = asyncio.get_running_loop().time() + 30
    while not await _hidden_in_room(server, live.room_name):
        assert asyncio.get_running_loop().time() < deadline, "the tail never joined"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)


def _assert_nothing_for_the_terminal(raw: bytes) -> None:
    assert b"\x1b" not in raw and b"\x07" not in raw, raw[-400:]
    assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", raw), raw[-400:]
    assert b"\xc2\x80" not in raw and b"\xc2\x9b" not in raw  # C1 controls, UTF-8 encoded
    text = raw.decode("utf-8")
    assert CREDENTIAL not in text and not JWT.search(text)
    assert "Traceback" not in text


async def test_tail_prints_each_final_once_in_order_and_exits_when_the_agent_leaves(
    platform_api: PlatformApi, livekit_server: LocalLiveKitServer, new_conversation: tuple[str, str]
) -> None:
    async with running_call(livekit_server, new_conversation) as live:
        tail = await _spawn(platform_api.base_url, live.conversation_id)
        await _until_listening(livekit_server, live)
        live.go.set()
        out, err = await asyncio.wait_for(tail.communicate(), TIMEOUT)
    assert tail.returncode == 0, err.decode()
    lines = out.decode("utf-8").splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    said = [(m.group(3), m.group(4)) for m in parsed if m]
    published = [(p.role.capitalize(), p.text) for p in live.call.published_finals]
    assert said == published
    seconds = [int(m.group(1)) * 60 + int(m.group(2)) for m in parsed if m]
    assert seconds == sorted(seconds) and seconds[-1] < 120  # into the call, which just began
    assert err.decode() == "snoop-tui: The agent left the call.\n"
    assert not await _hidden_in_room(livekit_server, live.room_name)
    _assert_nothing_for_the_terminal(out + err)


async def test_tail_json_prints_one_object_per_final(
    platform_api: PlatformApi, livekit_server: LocalLiveKitServer, new_conversation: tuple[str, str]
) -> None:
    async with running_call(livekit_server, new_conversation) as live:
        tail = await _spawn(platform_api.base_url, live.conversation_id, "--json")
        await _until_listening(livekit_server, live)
        live.go.set()
        out, err = await asyncio.wait_for(tail.communicate(), TIMEOUT)
    assert tail.returncode == 0, err.decode()
    records = [json.loads(line) for line in out.decode("utf-8").splitlines()]
    assert [(r["id"], r["role"], r["text"]) for r in records] == [
        (p.segment_id, p.role, p.text) for p in live.call.published_finals
    ]
    for record in records:
        assert set(record) == {
            "id",
            "speaker",
            "role",
            "text",
            "final",
            "seconds_into_call",
            "wall_time",
        }
        assert record["final"] is True and 0 <= record["seconds_into_call"] < 120
        assert record["wall_time"].endswith("+00:00")


async def test_tail_interim_adds_the_unfinished_versions(
    platform_api: PlatformApi, livekit_server: LocalLiveKitServer, new_conversation: tuple[str, str]
) -> None:
    async with running_call(livekit_server, new_conversation, words_per_second=12) as live:
        tail = await _spawn(platform_api.base_url, live.conversation_id, "--interim")
        await _until_listening(livekit_server, live)
        live.go.set()
        out, err = await asyncio.wait_for(tail.communicate(), TIMEOUT)
    assert tail.returncode == 0, err.decode()
    lines = out.decode("utf-8").splitlines()
    interim = [line for line in lines if " (interim): " in line]
    finals = [line for line in lines if " (interim): " not in line]
    assert len(finals) == len(live.call.published_finals) and interim


async def test_a_reader_that_stops_reading_ends_the_tail_quietly(
    platform_api: PlatformApi,
    livekit_server: LocalLiveKitServer,
    new_conversation: tuple[str, str],
    tmp_path: Path,
) -> None:
    """`snoop-tui tail ID | head -1`: one line, then exit 0 with nothing on stderr."""
    stderr = tmp_path / "stderr"
    script = (
        f'"{sys.executable}" -m snoop_tui tail "$1" 2>"$2" | head -1; '
        'echo "tail exited ${PIPESTATUS[0]}"'
    )
    async with running_call(livekit_server, new_conversation) as live:
        shell = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            script,
            "bash",
            live.conversation_id,
            str(stderr),
            stdout=asyncio.subprocess.PIPE,
            env=_env(platform_api.base_url),
            cwd=REPO_ROOT,
        )
        await _until_listening(livekit_server, live)
        live.go.set()
        out, _ = await asyncio.wait_for(shell.communicate(), TIMEOUT)
        lines = out.decode("utf-8").splitlines()
        assert len(lines) == 2 and LINE.match(lines[0]), lines
        assert lines[1] == "tail exited 0"
        assert stderr.read_text() == ""
        deadline = asyncio.get_running_loop().time() + 5
        while await _hidden_in_room(livekit_server, live.room_name):  # it left the room
            assert asyncio.get_running_loop().time() < deadline, "the observer stayed"
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["text", "json"])
async def test_hostile_text_never_writes_an_escape_to_the_terminal(
    platform_api: PlatformApi,
    livekit_server: LocalLiveKitServer,
    new_conversation: tuple[str, str],
    mode: list[str],
) -> None:
    server: Any = livekit_server
    async with running_call(livekit_server, new_conversation) as live:
        tail = await _spawn(platform_api.base_url, live.conversation_id, *mode)
        await _until_listening(livekit_server, live)
        async with Mischief(
            server.url, server.api_key, server.api_secret, live.room_name
        ) as mischief:
            await mischief.send(MARKUP_AND_ESCAPES + " \x9b31m \x00", segment_id="MX_1")
            await mischief.send("ding\x07 \x1b]0;title\x07", segment_id="MX_2")
            await asyncio.sleep(0.5)
            live.go.set()
            out, err = await asyncio.wait_for(tail.communicate(), TIMEOUT)
    assert tail.returncode == 0, err.decode()
    _assert_nothing_for_the_terminal(out)
    _assert_nothing_for_the_terminal(err)
    text = out.decode("utf-8")
    if mode:
        hostile = next(json.loads(line) for line in text.splitlines() if '"MX_1"' in line)
        assert "␛]52;c;ZXZpbA==␇" in hostile["text"] and hostile["role"] == "other"
    else:
        assert "␛]52;c;ZXZpbA==␇" in text and "ding␇ ␛]0;title␇" in text


def test_tail_on_an_unknown_conversation_exits_13(platform_api: PlatformApi) -> None:
    async def run() -> tuple[int | None, bytes, bytes]:
        tail = await _spawn(platform_api.base_url, "conv_does_not_exist")
        out, err = await asyncio.wait_for(tail.communicate(), TIMEOUT)
        return tail.returncode, out, err

    code, out, err = asyncio.run(run())
    assert code == errors.ConversationNotFound.exit_code == 13
    assert out == b""
    assert err.decode() == (
        "snoop-tui: Conversation not found: Conversation conv_does_not_exist was not found, "
        "or it has no live call room (404).\n"
    )


def test_tail_needs_a_credential_like_every_command() -> None:
    async def run() -> tuple[int | None, bytes]:
        env = {**_env("http://127.0.0.1:9"), "ANYREACH_TOKEN": ""}
        tail = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "snoop_tui",
            "tail",
            "conv_1",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=REPO_ROOT,
        )
        _, err = await asyncio.wait_for(tail.communicate(), TIMEOUT)
        return tail.returncode, err

    code, err = asyncio.run(run())
    assert code == errors.ConfigError.exit_code and b"No API credential" in err

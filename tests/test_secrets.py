"""Secrets stay secret, and the observer never speaks.

The credential and the listener token must never reach the terminal, the debug log,
an error message, exception text or a screenshot; the log file is private (0600).
The observer never opens an input device and never sends anything into the room.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import traceback
from pathlib import Path
from typing import Any

import pytest

from snoop_tui import errors
from snoop_tui.session import CallState
from snoop_tui.settings import Settings
from tests.live import SIZE, badge, in_process_app, list_participants, running_call, wait_for
from tests.mischief import MARKUP_AND_ESCAPES, Mischief
from tests.terminal import CREDENTIAL, Run, run_in_terminal
from tests.terminal import env as _env

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}")


def _assert_no_secrets(where: str, text: str) -> None:
    assert CREDENTIAL not in text, f"the credential reached {where}"
    match = JWT.search(text)
    assert match is None, f"a token reached {where}: {text[max(0, match.start() - 80) :][:200]}"


def _assert_private_log(path: Path) -> str:
    assert path.exists(), "no log file was written"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("wrong_room_token", errors.UnsafeListenerToken),
        ("expired_token", errors.UnsafeListenerToken),
        ("publisher_token", errors.UnsafeListenerToken),
        ("insecure_url", errors.UnsafeListenerToken),
        ("always_503", errors.PlatformUnavailable),
        ("huge_body", errors.BadPlatformResponse),
        ("html_200", errors.BadPlatformResponse),
    ],
)
def test_failure_paths_keep_secrets_out_of_terminal_and_log(
    platform_api: Any,
    new_conversation: tuple[str, str],
    tmp_path: Path,
    fault: str,
    error: type[errors.SnoopError],
) -> None:
    conversation_id, _ = new_conversation
    platform_api.patch_conversation(conversation_id, fault=fault)
    log_file = tmp_path / "snoop.log"
    log_file.write_text("")
    log_file.chmod(0o644)  # an existing, readable file is tightened, not trusted
    run = run_in_terminal(
        ["watch", conversation_id, "--log-file", str(log_file)], _env(platform_api.base_url)
    )
    assert run.code == error.exit_code, run.output[-2000:]
    assert error.title in run.output and "Traceback" not in run.output
    log = _assert_private_log(log_file)
    assert "listener-token" in log, log[-2000:]  # the request is in the log, its secrets not
    assert log.count(f"ERROR snoop_tui: {error.title}: ") == 1, log[-2000:]  # said once
    _assert_no_secrets("the terminal", run.output)
    _assert_no_secrets("the log", log)


async def test_live_call_keeps_secrets_out_of_terminal_and_log(
    platform_api: Any, livekit_server: Any, new_conversation: tuple[str, str], tmp_path: Path
) -> None:
    """Join a live call from a real terminal, get hostile text, press x: exit 0, no secrets."""
    log_file = tmp_path / "snoop.log"
    async with running_call(livekit_server, new_conversation, end_by_agent_leaving=False) as live:
        live.go.set()
        args = ["watch", live.conversation_id, "--log-file", str(log_file)]
        keys = [("LIVE", b""), ("ZXZpbA", b"x")]
        running = asyncio.create_task(
            asyncio.to_thread(
                run_in_terminal, args, _env(platform_api.base_url), 60.0, (100, 30), keys
            )
        )
        await _wait_for_hidden_participant(livekit_server, live.room_name, running)
        async with Mischief(
            livekit_server.url, livekit_server.api_key, livekit_server.api_secret, live.room_name
        ) as mischief:
            await mischief.send(MARKUP_AND_ESCAPES, segment_id="MARKUP")
            run: Run = await running
    assert run.code == 0, run.output[-3000:]
    raw = run.output
    assert "LIVE" in raw and "Traceback" not in raw
    assert "\x1b]52" not in raw, "a clipboard-write escape reached the terminal"
    assert "\u241b]52;c;ZXZpbA==" in raw
    log = _assert_private_log(log_file)
    assert "listener-token" in log and live.room_name in log, log[-2000:]
    _assert_no_secrets("the terminal", raw)
    _assert_no_secrets("the log", log)


async def _wait_for_hidden_participant(
    server: Any, room_name: str, running: asyncio.Task[Run], timeout: float = 30.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if running.done():
            raise AssertionError(f"snoop-tui ended early: {running.result().output[-2000:]}")
        participants = await list_participants(server, room_name)
        if any(p.permission.hidden for p in participants):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the observer never joined")


async def test_error_and_screenshot_carry_no_secrets(
    settings: Settings, platform_api: Any, new_conversation: tuple[str, str]
) -> None:
    conversation_id, _ = new_conversation
    platform_api.patch_conversation(conversation_id, fault="wrong_room_token")
    app = in_process_app(settings, conversation_id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.failure is not None, what="the refusal")
        screenshot = app.export_screenshot()
    failure = app.failure
    assert failure is not None
    exception_text = "".join(traceback.format_exception(failure)) + repr(failure)
    _assert_no_secrets("the exception", exception_text)
    _assert_no_secrets("the screenshot", screenshot)
    _assert_no_secrets("the settings repr", repr(settings))


async def test_live_screenshot_carries_no_secrets(
    settings: Settings, livekit_server: Any, new_conversation: tuple[str, str]
) -> None:
    async with running_call(livekit_server, new_conversation) as live:
        app = in_process_app(settings, live.conversation_id)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: badge(app).state is CallState.LIVE, what="LIVE")
            assert app.call.session is not None
            _assert_no_secrets("the screenshot", app.export_screenshot())
            _assert_no_secrets("the session repr", repr(app.call.session.grant))


class _InputSpy:
    """Stands in for sounddevice's input-capable stream classes and records any use."""

    made: list[str] = []

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        _InputSpy.made.append(self.name)
        raise AssertionError(f"sounddevice.{self.name} was created")


async def test_observer_never_opens_an_input_and_never_sends(
    settings: Settings,
    livekit_server: Any,
    new_conversation: tuple[str, str],
    null_sink: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sounddevice

    _InputSpy.made = []
    for name in ("InputStream", "RawInputStream", "Stream", "RawStream"):
        monkeypatch.setattr(sounddevice, name, _InputSpy(name))
    async with running_call(
        livekit_server, new_conversation, continuous_audio=True, end_by_agent_leaving=False
    ) as live:
        app = in_process_app(settings, live.conversation_id)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: badge(app).state is CallState.LIVE, what="LIVE")
            session = app.call.session
            assert session is not None
            me = session.identity
            live.go.set()
            await pilot.press("l")
            await wait_for(pilot, lambda: session.listening, what="listening")
            await wait_for(pilot, lambda: session.player.stats.frames_played > 0, what="audio")
            await pilot.pause(0.5)
            await pilot.press("m")
            await wait_for(pilot, lambda: not session.listening, what="muted")
            await wait_for(
                pilot, lambda: len(live.call.published_finals) >= 2, what="transcript traffic"
            )
            participants = {
                p.identity: p for p in await list_participants(livekit_server, live.room_name)
            }
    assert _InputSpy.made == []
    assert len(participants[me].tracks) == 0
    senders = {r.sender for r in live.call.received}
    assert live.call.agent_identity in senders, "the record of received streams saw nothing"
    assert me not in senders
    assert me not in live.call.seen_participants
    assert os.environ.get("PULSE_SERVER")  # the audio really went to the test sink


def test_log_redacts_token_shapes_it_was_never_told_about() -> None:
    from snoop_tui.logs import REDACTED, redact

    line = (
        "GET wss://x/rtc?access_token=abc.def.ghi&auto=1 Authorization: Bearer ak_other_key "
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    )
    cleaned = redact(line)
    assert "abc.def.ghi" not in cleaned and "ak_other_key" not in cleaned
    assert not JWT.search(cleaned)
    assert cleaned.count(REDACTED) == 3 and "auto=1" in cleaned


def test_log_file_that_is_a_symlink_is_refused_cleanly(platform_api: Any, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    link = tmp_path / "snoop.log"
    link.symlink_to(target)
    run = run_in_terminal(["watch", "conv_1", "--log-file", str(link)], _env(platform_api.base_url))
    assert run.code == errors.ConfigError.exit_code, run.output[-2000:]
    assert "Cannot write the log file" in run.output and "Traceback" not in run.output
    assert target.read_text() == ""

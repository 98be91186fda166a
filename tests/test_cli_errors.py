"""Each platform failure ends snoop-tui with one clear line, its own exit code, no traceback.

Run as a supervisor would run it: a separate process in a real terminal, against
the real local platform API (faults are served over real HTTP).
"""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest

from snoop_tui import errors
from tests.terminal import CREDENTIAL, env, run_in_terminal

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}")


def _assert_clean_failure(run: Any, error: type[errors.SnoopError], words: str) -> None:
    assert run.code == error.exit_code, run.output[-2000:]
    assert words in run.output, run.output[-2000:]
    assert "Traceback" not in run.output
    assert CREDENTIAL not in run.output
    assert not JWT.search(run.output), "a token reached the terminal"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("credential", "extra", "error", "words"),
    [
        ("ak_wrong_key", {}, errors.Unauthorized, "refused the credential (401)"),
        ("pat_demo_sensitive", {"ANYREACH_ORG": "org_other"}, errors.Unauthorized, "(401)"),
        ("ak_demo_readonly", {}, errors.MissingScope, "conversations:read_sensitive"),
    ],
)
def test_credential_failures(
    platform_api: Any,
    new_conversation: Any,
    credential: str,
    extra: dict[str, str],
    error: type[errors.SnoopError],
    words: str,
) -> None:
    conversation_id, _ = new_conversation
    run = run_in_terminal(
        ["watch", conversation_id], env(platform_api.base_url, ANYREACH_TOKEN=credential, **extra)
    )
    _assert_clean_failure(run, error, words)
    assert credential not in run.output


def test_unknown_conversation(platform_api: Any) -> None:
    run = run_in_terminal(["watch", "conv_does_not_exist"], env(platform_api.base_url))
    _assert_clean_failure(run, errors.ConversationNotFound, "was not found")


def test_conversation_that_is_not_active(platform_api: Any, new_conversation: Any) -> None:
    conversation_id, _ = new_conversation
    platform_api.patch_conversation(conversation_id, status="completed")
    run = run_in_terminal(["watch", conversation_id], env(platform_api.base_url))
    _assert_clean_failure(run, errors.ConversationNotActive, "is not active (409)")


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("http_500", errors.PlatformUnavailable, "platform failed (500)"),
        ("http_502_html", errors.PlatformUnavailable, "platform failed (502)"),
        ("not_json", errors.BadPlatformResponse, "was not JSON"),
        ("missing_fields", errors.BadPlatformResponse, "no valid `token`"),
        ("wrong_types", errors.BadPlatformResponse, "no valid `url`"),
        ("publisher_token", errors.UnsafeListenerToken, "could publish audio"),
        ("visible_token", errors.UnsafeListenerToken, "would be visible"),
    ],
)
def test_platform_faults(
    platform_api: Any,
    new_conversation: Any,
    fault: str,
    error: type[errors.SnoopError],
    words: str,
) -> None:
    conversation_id, _ = new_conversation
    platform_api.patch_conversation(conversation_id, fault=fault)
    run = run_in_terminal(["watch", conversation_id], env(platform_api.base_url))
    _assert_clean_failure(run, error, words)


def test_platform_that_cannot_be_reached() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    run = run_in_terminal(["watch", "conv_1"], env(url))
    _assert_clean_failure(run, errors.PlatformUnreachable, "Cannot reach the platform")


def test_platform_that_does_not_answer_in_time(platform_api: Any, new_conversation: Any) -> None:
    conversation_id, _ = new_conversation
    platform_api.patch_conversation(conversation_id, fault="slow")
    run = run_in_terminal(
        ["watch", conversation_id], env(platform_api.base_url, ANYREACH_TIMEOUT="1")
    )
    _assert_clean_failure(run, errors.PlatformTimeout, "did not answer within 1 s")


def test_missing_credential_is_explained_before_the_panel_opens() -> None:
    run = run_in_terminal(
        ["watch", "conv_1"], {"ANYREACH_TOKEN": "", "ANYREACH_CONFIG": "/nonexistent"}
    )
    _assert_clean_failure(run, errors.ConfigError, "No API credential")

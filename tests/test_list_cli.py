"""`snoop-tui list`: the live calls as a plain table or JSON lines, for scripts and readers.

Run as a script would run it: its own process, output to pipes, against the real local
platform API (a module's own, cleared per test).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from snoop_tui import errors
from tests.fixtures_stack import PlatformApi

CREDENTIAL = "ak_demo_sensitive"
JSON_KEYS = [
    "id",
    "status",
    "agent",
    "agent_id",
    "caller",
    "number",
    "channel",
    "direction",
    "created_at",
    "seconds_into_call",
    "time_into_call",
    "duration",
    "listenable",
    "not_listenable_reason",
]


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def run_list(
    *args: str, api: str | None = None, credential: str = CREDENTIAL, **env: str
) -> Result:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ANYREACH_")}
    full_env |= {"ANYREACH_TOKEN": credential, "ANYREACH_CONFIG": "/nonexistent", **env}
    if api:
        full_env["ANYREACH_API_URL"] = api
    done = subprocess.run(
        [sys.executable, "-m", "snoop_tui", "list", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    for output in (done.stdout, done.stderr):
        assert not credential or credential not in output
        assert "Traceback" not in output
    return Result(done.returncode, done.stdout, done.stderr)


def iso(seconds_ago: float) -> str:
    moment = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def three_calls(empty_platform_api: PlatformApi) -> PlatformApi:
    empty_platform_api.put_conversations(
        [
            {
                "id": "conv_billing",
                "status": "in_progress",
                "agent_name": "Billing Assistant",
                "user_id": "+14155550100",
                "agent_number": "+18005550199",
                "created_at": iso(125),
            },
            {
                "id": "conv_tech",
                "status": "ringing",
                "agent_name": "Tech Support",
                "user_id": "+12125550142",
                "agent_number": "+18005550123",
                "direction": "outbound",
                "created_at": iso(3),
            },
            {
                "id": "conv_mail",
                "status": "in_progress",
                "agent_name": "Billing Assistant",
                "user_id": "dana@example.com",
                "channel": "email",
                "created_at": iso(3725),
            },
            {"id": "conv_over", "status": "completed", "created_at": iso(1)},
            {"id": "conv_web", "status": "token_created", "created_at": iso(2)},
        ]
    )
    return empty_platform_api


def test_list_prints_a_plain_table_newest_first(three_calls: PlatformApi) -> None:
    result = run_list(api=three_calls.base_url)
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == [
        "ID",
        "STATUS",
        "AGENT",
        "CALLER",
        "NUMBER",
        "CHANNEL",
        "DIRECTION",
        "TIME",
    ]
    rows = [re.split(r"\s{2,}", line) for line in lines[1:]]
    assert [row[:7] for row in rows] == [
        [
            "conv_tech",
            "ringing",
            "Tech Support",
            "+12125550142",
            "+18005550123",
            "telephone",
            "outbound",
        ],
        [
            "conv_billing",
            "in_progress",
            "Billing Assistant",
            "+14155550100",
            "+18005550199",
            "telephone",
            "inbound",
        ],
        [
            "conv_mail",
            "in_progress",
            "Billing Assistant",
            "dana@example.com",
            "+15550199",
            "email",
            "inbound",
        ],
    ]
    assert re.fullmatch(r"00:0[3-9]", rows[0][7])
    assert re.fullmatch(r"02:0[5-9]", rows[1][7])
    assert re.fullmatch(r"1:02:0[5-9]", rows[2][7])
    column = lines[0].index("STATUS")
    assert all(line[column - 2 : column] == "  " and line[column] != " " for line in lines)


def test_list_json_prints_one_object_per_call_with_stable_keys(three_calls: PlatformApi) -> None:
    result = run_list("--json", api=three_calls.base_url)
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    records: list[dict[str, Any]] = [json.loads(line) for line in result.stdout.splitlines()]
    assert [list(record) for record in records] == [JSON_KEYS] * 3
    tech, billing, mail = records
    assert tech["id"] == "conv_tech" and tech["status"] == "ringing"
    assert tech["agent"] == "Tech Support" and tech["caller"] == "+12125550142"
    assert tech["number"] == "+18005550123" and tech["direction"] == "outbound"
    assert tech["listenable"] is True and tech["not_listenable_reason"] is None
    assert 120 <= billing["seconds_into_call"] <= 140
    assert billing["time_into_call"].startswith("02:")
    assert datetime.fromisoformat(billing["created_at"]).tzinfo is not None
    assert mail["listenable"] is False
    assert mail["not_listenable_reason"] == "email conversations have no audio"


def test_a_read_only_credential_lists_with_dashes_for_what_it_cannot_see(
    three_calls: PlatformApi,
) -> None:
    result = run_list(api=three_calls.base_url, credential="ak_demo_readonly")
    assert result.code == 0, result.stderr
    row = re.split(r"\s{2,}", result.stdout.splitlines()[1])
    assert row[:5] == ["conv_tech", "ringing", "Tech Support", "-", "-"]
    records = run_list("--json", api=three_calls.base_url, credential="ak_demo_readonly")
    first = json.loads(records.stdout.splitlines()[0])
    assert first["caller"] is None and first["number"] is None


def test_nothing_live_exits_0_and_says_so_on_stderr_only(
    empty_platform_api: PlatformApi,
) -> None:
    empty_platform_api.put_conversations([{"id": "conv_done", "status": "completed"}])
    table = run_list(api=empty_platform_api.base_url)
    assert (table.code, table.stdout, table.stderr) == (0, "", "No live calls right now.\n")
    as_json = run_list("--json", api=empty_platform_api.base_url)
    assert (as_json.code, as_json.stdout, as_json.stderr) == (0, "", "")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("credential", "env", "error", "words"),
    [
        ("ak_wrong_key", {}, errors.Unauthorized, "refused the credential (401)"),
        ("pat_demo_sensitive", {}, errors.ConfigError, "needs an organization"),
        ("pat_demo_sensitive", {"ANYREACH_ORG": "org_other"}, errors.Unauthorized, "(401)"),
        ("ak_demo_agents_only", {}, errors.MissingScope, "may not list conversations (403)"),
        ("", {}, errors.ConfigError, "No API credential"),
    ],
)
def test_list_failures_end_with_one_line_and_their_exit_code(
    own_platform_api: PlatformApi,
    credential: str,
    env: dict[str, str],
    error: type[errors.SnoopError],
    words: str,
) -> None:
    for form in ((), ("--json",)):
        result = run_list(*form, api=own_platform_api.base_url, credential=credential, **env)
        assert result.code == error.exit_code, result.stderr
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("snoop-tui: ")
        assert words in result.stderr


def test_an_unreachable_platform_is_exit_17() -> None:
    result = run_list(api=f"http://127.0.0.1:{_closed_port()}")
    assert result.code == errors.PlatformUnreachable.exit_code
    assert "Cannot reach the platform" in result.stderr and result.stdout == ""


def test_flags_win_over_the_environment(three_calls: PlatformApi) -> None:
    wrong = f"http://127.0.0.1:{_closed_port()}"
    result = run_list("--json", "--api-url", three_calls.base_url, "--timeout", "5", api=wrong)
    assert result.code == 0 and len(result.stdout.splitlines()) == 3


def test_list_loads_neither_textual_nor_livekit(three_calls: PlatformApi) -> None:
    code = (
        "import sys\n"
        "from snoop_tui.cli import main\n"
        "status = main(['list', '--json'])\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(loaded & {'textual', 'livekit', 'sounddevice', 'numpy'}), file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    env = {
        **os.environ,
        "ANYREACH_TOKEN": CREDENTIAL,
        "ANYREACH_CONFIG": "/nonexistent",
        "ANYREACH_API_URL": three_calls.base_url,
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "[]"
    assert len(done.stdout.splitlines()) == 3

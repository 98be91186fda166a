"""`snoop-tui doctor` against the real local platform API, run as a supervisor runs it.

A line per check with its fix, `--json` for scripts, exit 1 only when a required
check (config, credential, platform, scope) fails, and never the credential itself.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from snoop_tui.doctor import clock_check, pulse_addresses, pulse_server_check, terminal_checks
from tests.terminal import run_in_terminal

CREDENTIAL = "ak_demo_sensitive"
REQUIRED = {"config", "credential", "platform", "accepted", "scope"}


def doctor_env(base_url: str, credential: str = CREDENTIAL, **extra: str) -> dict[str, str]:
    return {
        "ANYREACH_API_URL": base_url,
        "ANYREACH_TOKEN": credential,
        "ANYREACH_CONFIG": "/nonexistent",
        **extra,
    }


def doctor_json(env: dict[str, str]) -> tuple[int, list[dict[str, Any]], str]:
    run = subprocess.run(
        [sys.executable, "-m", "snoop_tui", "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    return run.returncode, [json.loads(line) for line in run.stdout.splitlines()], run.stderr


def mark_of(output: str, check: str) -> str:
    """The mark (✓, ! or ✗) on the report's line for `check`."""
    return next(line[0] for line in output.splitlines() if line[2:].startswith(f"{check} "))


def words(output: str) -> str:
    """The report with its lines joined, as a sentence wrapped over two reads."""
    return " ".join(output.split())


def test_all_good_says_so_line_by_line_and_exits_0(platform_api: Any) -> None:
    run = run_in_terminal(["doctor"], doctor_env(platform_api.base_url))
    assert run.code == 0, run.output
    for check in ("credential", "platform", "accepted", "scope", "clock"):
        assert mark_of(run.output, check) == "✓", run.output
    assert "an organization key (ak_) from ANYREACH_TOKEN" in words(run.output)
    assert "only a real call proves it may listen" in words(run.output)
    assert "The required checks passed." in run.output
    assert CREDENTIAL not in run.output and "Traceback" not in run.output


def test_json_is_one_object_per_check(platform_api: Any) -> None:
    code, checks, stderr = doctor_json(doctor_env(platform_api.base_url))
    assert code == 0, stderr
    names = [c["check"] for c in checks]
    assert REQUIRED | {"clock", "pulse", "portaudio", "terminal", "colours", "locale", "tmux"} <= (
        set(names)
    )
    assert len(names) == len(set(names))
    for check in checks:
        assert set(check) == {"check", "status", "message", "fix", "required"}
        assert check["status"] in ("ok", "warn", "fail")
        assert check["required"] is (check["check"] in REQUIRED)
    assert CREDENTIAL not in json.dumps(checks) + stderr


def test_no_credential_fails_and_says_where_one_comes_from(platform_api: Any) -> None:
    run = run_in_terminal(["doctor"], doctor_env(platform_api.base_url, credential=""))
    assert run.code == 1
    assert mark_of(run.output, "credential") == "✗"
    assert "credential No API credential." in words(run.output)
    assert "fix: export ANYREACH_TOKEN=ak_..., or ANYREACH_TOKEN_FILE=PATH" in words(run.output)
    assert mark_of(run.output, "platform") == "✗"  # not checked without one
    assert "Failed: credential, platform" in run.output


def test_a_wrong_credential_is_refused_with_the_401_explanation(platform_api: Any) -> None:
    run = run_in_terminal(["doctor"], doctor_env(platform_api.base_url, "ak_wrong_key"))
    assert run.code == 1
    assert mark_of(run.output, "platform") == "✓"
    assert mark_of(run.output, "accepted") == "✗"
    assert "accepted The platform refused the credential (401)." in words(run.output)
    assert "ak_wrong_key" not in run.output


def test_a_credential_that_may_not_read_conversations_fails_the_scope(platform_api: Any) -> None:
    code, checks, _ = doctor_json(doctor_env(platform_api.base_url, "ak_demo_agents_only"))
    assert code == 1
    scope = next(c for c in checks if c["check"] == "scope")
    assert scope["status"] == "fail" and "conversations:read" in scope["message"]
    assert next(c for c in checks if c["check"] == "accepted")["status"] == "ok"


def test_a_token_file_others_can_read_fails_with_the_chmod(
    platform_api: Any, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text(CREDENTIAL + "\n")
    token.chmod(0o644)
    env = doctor_env(platform_api.base_url, "", ANYREACH_TOKEN_FILE=str(token))
    code, checks, _ = doctor_json(env)
    assert code == 1
    credential = next(c for c in checks if c["check"] == "credential")
    assert credential["status"] == "fail"
    assert f"chmod 600 {token}" in credential["message"]
    token.chmod(0o600)
    code, checks, _ = doctor_json(env)
    credential = next(c for c in checks if c["check"] == "credential")
    assert code == 0 and credential["status"] == "ok"
    assert f"ANYREACH_TOKEN_FILE ({token}, mode 600, yours only)" in credential["message"]
    assert CREDENTIAL not in json.dumps(checks)


def test_an_unknown_config_key_is_a_warning_not_a_failure(
    platform_api: Any, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("board_refesh = 5\n")
    code, checks, _ = doctor_json(doctor_env(platform_api.base_url, ANYREACH_CONFIG=str(config)))
    assert code == 0
    found = next(c for c in checks if c["check"] == "config")
    assert found["status"] == "warn" and "did you mean `board_refresh`?" in found["message"]


# -- the checks that need no platform --------------------------------------------------


def test_the_clock_is_compared_with_the_platforms_date() -> None:
    date = datetime.now(UTC).replace(microsecond=0)
    now = date + timedelta(seconds=0.5)  # `Date` has whole seconds: half a second on average
    assert clock_check(format_datetime(date, usegmt=True), now).status == "ok"
    late = clock_check(format_datetime(date - timedelta(seconds=45), usegmt=True), now)
    assert late.status == "warn" and "45 s ahead of the platform's" in late.message
    assert late.fix is not None and "NTP" in late.fix
    assert clock_check(None, now).status == "warn"


@pytest.mark.parametrize(
    ("value", "addresses"),
    [
        ("tcp:127.0.0.1:4713", [("tcp", ("127.0.0.1", 4713))]),
        ("127.0.0.1", [("tcp", ("127.0.0.1", 4713))]),
        ("tcp6:[::1]:4714", [("tcp", ("::1", 4714))]),
        ("unix:/run/pulse/native", [("unix", "/run/pulse/native")]),
        ("{abc}/run/user/1000/pulse/native host:1", [
            ("unix", "/run/user/1000/pulse/native"), ("tcp", ("host", 1))]),
    ],
)  # fmt: skip
def test_pulse_server_addresses_are_read_as_pulseaudio_reads_them(
    value: str, addresses: list[tuple[str, object]]
) -> None:
    assert pulse_addresses(value) == addresses


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server


def test_pulse_server_is_probed_at_the_configured_address(
    listening: socket.socket, tmp_path: Path
) -> None:
    port = listening.getsockname()[1]
    assert pulse_server_check(f"tcp:127.0.0.1:{port}").status == "ok"
    with socket.socket(socket.AF_UNIX) as unix:
        unix.bind(str(tmp_path / "native"))
        unix.listen()
        assert pulse_server_check(f"unix:{tmp_path / 'native'}").status == "ok"
    listening.close()
    refused = pulse_server_check(f"tcp:127.0.0.1:{port}")
    assert refused.status == "fail" and "does not answer" in refused.message
    assert refused.fix is not None and "ssh -R 4713" in refused.fix
    assert pulse_server_check(None).status == "ok"


@pytest.mark.parametrize(
    ("env", "check", "status"),
    [
        ({"TERM": "xterm-256color"}, "colours", "ok"),
        ({"TERM": "xterm", "COLORTERM": "truecolor"}, "colours", "ok"),
        ({"TERM": "xterm"}, "colours", "warn"),
        ({"TERM": "dumb"}, "colours", "fail"),
        ({"TERM": "xterm", "NO_COLOR": "1"}, "colours", "ok"),
        ({"LANG": "en_US.UTF-8"}, "locale", "ok"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "C"}, "locale", "warn"),
        ({}, "locale", "warn"),
        ({}, "tmux", "ok"),
    ],
)
def test_terminal_checks(env: dict[str, str], check: str, status: str) -> None:
    found = next(c for c in terminal_checks(env) if c.check == check)
    assert found.status == status, found


def test_a_missing_mixer_package_fails_the_portaudio_check_with_the_reinstall(
    platform_api: Any, tmp_path: Path
) -> None:
    """PortAudio is there but the package that plays through it is not (a broken install):
    the check says which package and how to put it back, not to install PortAudio."""
    (tmp_path / "rtmixer.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'rtmixer'\", name='rtmixer')\n"
    )
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    code, checks, stderr = doctor_json(doctor_env(platform_api.base_url, PYTHONPATH=path))
    portaudio = next(c for c in checks if c["check"] == "portaudio")
    assert portaudio["status"] == "fail"
    assert "rtmixer package is missing" in portaudio["message"]
    assert "force-reinstall" in portaudio["fix"]
    assert code == 0  # audio is not required: the transcript still works
    assert "Traceback" not in stderr

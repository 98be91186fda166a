"""Command-line mistakes get an answer that says what went wrong and what to do.

A mistyped command, a credential given as a flag, a misspelt config key and an API
URL that points at a plain web server, each run as a supervisor would: the real
command in its own process (in a terminal where the panel would open).
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from snoop_tui import errors
from snoop_tui.settings import config_file_warnings
from tests.terminal import run_in_terminal

NOT_THE_API = "does not look like the AnyReach platform API (check ANYREACH_API_URL)"


def snoop(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snoop_tui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "ANYREACH_CONFIG": "/nonexistent", **env},
    )


# -- a mistyped command, and what still means `watch` ---------------------------------


@pytest.mark.parametrize(
    ("args", "command"),
    [(["wtch", "x"], "watch"), (["lsit"], "list"), (["Board"], "board"), (["doctr"], "doctor")],
)
def test_a_mistyped_command_is_named_with_the_near_one(args: list[str], command: str) -> None:
    run = snoop(*args)
    assert run.returncode == 2
    assert f"there is no command {args[0]!r}; did you mean {command!r}?" in run.stderr
    assert "unrecognized arguments" not in run.stderr


@pytest.mark.parametrize("first", ["conv_7f3a9c", "conversation", "3f2a-11ef", "conv_demo"])
def test_a_conversation_id_alone_still_means_watch(first: str) -> None:
    run = snoop(first)
    assert run.returncode == errors.ConfigError.exit_code
    assert "No API credential" in run.stderr  # watch got as far as the credential
    assert "no command" not in run.stderr


# -- the credential is never a flag ---------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--token", "ak_secret_value", "watch", "x"],
        ["watch", "x", "--token=ak_secret_value"],
        ["list", "--token-file", "ak_secret_value"],
        ["board", "--api-key", "ak_secret_value"],
    ],
)
def test_a_credential_flag_says_where_the_credential_comes_from(args: list[str]) -> None:
    run = snoop(*args)
    assert run.returncode == 2
    assert "the credential is never a flag" in run.stderr
    assert "`ps`" in run.stderr and "shell history" in run.stderr
    for source in ("ANYREACH_TOKEN,", "ANYREACH_TOKEN_FILE", "/nonexistent"):
        assert source in run.stderr
    assert "ak_secret_value" not in run.stderr + run.stdout


# -- unknown keys in the config file ---------------------------------------------------


def test_an_unknown_config_key_is_warned_about_with_the_near_name(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('apiurl = "http://127.0.0.1:9"\ncolour_scheme = "dark"\ntimeout = 1\n')
    run = snoop("list", ANYREACH_CONFIG=str(config), ANYREACH_TOKEN="ak_x")
    assert (
        f"snoop-tui: warning: The config file {config} has an unknown key `apiurl` "
        "(did you mean `api_url`?); it is ignored." in run.stderr
    )
    assert "unknown key `colour_scheme`; it is ignored" in run.stderr
    assert "ak_x" not in run.stderr


def test_every_key_snoop_tui_reads_is_known(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'api_url = "http://127.0.0.1:9"\norg = "org_1"\ntimeout = 5\n'
        'output_device = "pulse"\nboard_refresh = 5\nalerts = ["lawyer"]\nbell = false\n'
        f'save_dir = "{tmp_path}"\ntoken_file = "{tmp_path / "token"}"\n'
    )
    assert config_file_warnings(config_path=config) == []


# -- an API URL that is a plain web server ----------------------------------------------


class _PlainPages(http.server.SimpleHTTPRequestHandler):
    """A static web server, as `python -m http.server` is: 404 pages, 501 for POST."""

    def log_message(self, format: str, *args: object) -> None:
        pass


class _WelcomePage(_PlainPages):
    """A web site that answers every path, GET or POST, with its home page."""

    def _welcome(self) -> None:
        body = b"<html><body>Welcome to our web site</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _welcome


@pytest.fixture(params=["static files", "a welcome page"])
def web_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    handler = _PlainPages if request.param == "static files" else _WelcomePage
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_listing_a_plain_web_server_says_it_is_not_the_platform(web_server: str) -> None:
    run = snoop("list", ANYREACH_API_URL=web_server, ANYREACH_TOKEN="ak_x")
    assert run.returncode == errors.BadPlatformResponse.exit_code, run.stderr
    assert f"{web_server} {NOT_THE_API}" in run.stderr
    assert "Traceback" not in run.stderr and "ak_x" not in run.stderr


def test_watching_through_a_plain_web_server_says_it_is_not_the_platform(
    web_server: str,
) -> None:
    env = {"ANYREACH_API_URL": web_server, "ANYREACH_TOKEN": "ak_x"}
    run = run_in_terminal(["watch", "conv_1"], {**env, "ANYREACH_CONFIG": "/nonexistent"})
    assert run.code == errors.BadPlatformResponse.exit_code, run.output[-1500:]
    assert NOT_THE_API in run.output
    assert "platform failed" not in run.output and "Traceback" not in run.output

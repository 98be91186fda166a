"""`snoop-tui doctor`: what works and what does not, each with its fix.

One line per check: the credential and its file, the platform and whether it accepts
the credential, the clock, audio (PortAudio, output devices, PULSE_SERVER) and the
terminal. The required checks (config, credential, platform, accepted, scope) decide
the exit code. Nothing here prints the credential, mints a listener token or
connects anywhere but the platform and the sound server the user configured.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal, TextIO

import httpx

from snoop_tui.errors import ConfigError, MissingScope, PlatformError, SnoopError, Unauthorized
from snoop_tui.platform import PlatformClient
from snoop_tui.settings import (
    ENV_PREFIX,
    Settings,
    config_file_path,
    config_file_warnings,
    load_settings,
)

Status = Literal["ok", "warn", "fail"]
MAX_CLOCK_SKEW = 30.0
"""Seconds of difference from the platform's clock before a warning: tokens expire by it."""
PROBE_TIMEOUT = 2.0
"""Seconds to wait for the sound server, or for tmux, to answer."""
AUDIO_TIMEOUT = 10.0
"""Seconds PortAudio may take to list the devices (a sound server that does not answer)."""
PULSE_PORT = 4713


@dataclass(frozen=True)
class Check:
    """One line of the report; `fix` says what to do when it is not ok."""

    check: str
    status: Status
    message: str
    fix: str | None = None
    required: bool = False


MARKS = {"ok": "✓", "warn": "!", "fail": "✗"}
ASCII_MARKS = {"ok": "+", "warn": "!", "fail": "x"}


def run_checks(overrides: Mapping[str, Any]) -> list[Check]:
    """Every check, in the order a supervisor reads them (`overrides`: the flags)."""
    return [*account_checks(overrides), *audio_checks(), *terminal_checks()]


def exit_code(checks: list[Check]) -> int:
    """1 if a required check failed, else 0."""
    return 1 if any(c.required and c.status == "fail" for c in checks) else 0


def print_checks(checks: list[Check], out: TextIO, *, as_json: bool = False) -> None:
    """The report, or with `as_json` one JSON object per check and line."""
    if as_json:
        for check in checks:
            print(json.dumps(asdict(check)), file=out)
    else:
        print_report(checks, out)


def print_report(checks: list[Check], out: TextIO) -> None:
    unicode = "utf" in (getattr(out, "encoding", None) or "").lower()
    marks = MARKS if unicode else ASCII_MARKS
    width = max(60, min(shutil.get_terminal_size((80, 24)).columns, 100))
    label = max(len(c.check) for c in checks) + 1
    for check in checks:
        first = f"{marks[check.status]} {check.check:<{label}} "
        indent = " " * len(first)
        lines = textwrap.wrap(check.message, width, initial_indent=first, subsequent_indent=indent)
        if check.fix and check.status != "ok":
            lines += textwrap.wrap(
                f"fix: {check.fix}", width, initial_indent=indent, subsequent_indent=indent + "  "
            )
        print("\n".join(lines), file=out)
    failed = [c.check for c in checks if c.required and c.status == "fail"]
    others = sum(1 for c in checks if c.status != "ok" and not (c.required and c.status == "fail"))
    if failed:
        summary = f"Failed: {', '.join(failed)}; snoop-tui cannot listen until that is fixed."
    else:
        summary = "The required checks passed."
    if others:
        summary += f" {others} other {'thing' if others == 1 else 'things'} to look at above."
    print(f"\n{summary}", file=out)


# -- the account: config, credential, platform, scope, clock -----------------------


def account_checks(overrides: Mapping[str, Any]) -> list[Check]:
    config, settings, credential = _config_and_credential(overrides)
    if settings is None or credential.status == "fail":
        return [config, credential, _required("platform", "fail", "not checked: no credential")]
    return [config, credential, *asyncio.run(_platform_checks(settings))]


def _required(check: str, status: Status, message: str, fix: str | None = None) -> Check:
    return Check(check, status, message, fix, required=True)


def _config_and_credential(overrides: Mapping[str, Any]) -> tuple[Check, Settings | None, Check]:
    path = config_file_path()
    warnings = config_file_warnings(config_path=path)
    if not path.exists():
        config = _required("config", "ok", f"no config file at {path}; defaults apply")
    elif warnings:
        config = _required("config", "warn", " ".join(warnings), "correct or remove those keys")
    else:
        config = _required("config", "ok", f"{path} is read")
    try:
        settings = load_settings(overrides)
        secret = settings.require_credential()
    except ConfigError as error:
        if "token" not in error.message and "credential" not in error.message:
            unchecked = _required("credential", "fail", "not checked: the config is unusable")
            return _required("config", "fail", error.message), None, unchecked
        fix = None if "chmod" in error.message else _credential_fix(path)
        return config, None, _required("credential", "fail", error.message, fix)
    value = secret.reveal()
    kinds = {"ak_": "an organization key (ak_)", "pat_": "a personal access token (pat_)"}
    kind = next((v for k, v in kinds.items() if value.startswith(k)), None)
    source = _credential_source(path)
    if kind is None:
        message = f"a credential from {source}, but it starts with neither ak_ nor pat_"
        return config, settings, Check("credential", "warn", message, _credential_fix(path))
    org = f", organization {settings.org}" if settings.org else ""
    return config, settings, _required("credential", "ok", f"{kind} from {source}{org}")


def _credential_source(config: Path) -> str:
    """Where the credential was found, in the order `load_settings` looks."""
    env = os.environ
    if env.get(ENV_PREFIX + "TOKEN_FILE"):
        path = Path(env[ENV_PREFIX + "TOKEN_FILE"]).expanduser()
        return f"the file named by ANYREACH_TOKEN_FILE ({path}, {_mode(path)})"
    if env.get(ENV_PREFIX + "TOKEN"):
        return "ANYREACH_TOKEN"
    return f"`token` or `token_file` in the config file {config}"


def _mode(path: Path) -> str:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return "unreadable"
    return f"mode {mode:o}" + ("" if mode & 0o077 else ", yours only")


def _credential_fix(config: Path) -> str:
    return (
        "export ANYREACH_TOKEN=ak_..., or ANYREACH_TOKEN_FILE=PATH to a file that is yours "
        f"only (chmod 600), or set token_file in {config}; a pat_ token also needs "
        "ANYREACH_ORG. See: snoop-tui help credential"
    )


class _ClockReader(httpx.AsyncBaseTransport):
    """Passes requests on, noting the platform's `Date` and this machine's clock on arrival."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.date: str | None = None
        self.arrived: datetime | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self.date, self.arrived = response.headers.get("date"), datetime.now(UTC)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _platform_checks(settings: Settings) -> list[Check]:
    """One cheap read (one listing page of one call) tells reach, credential and scope."""
    clock = _ClockReader()
    reached = _required("platform", "ok", f"{settings.api_url} answers as the platform API")
    accepted = _required("accepted", "ok", "the platform accepts the credential")
    try:
        async with PlatformClient(settings, transport=clock, retries=0) as client:
            calls = await client.list_live_conversations(("in_progress",), page_size=1, max_pages=1)
    except Unauthorized as error:
        return [
            reached,
            _required("accepted", "fail", error.message),
            clock_check(clock.date, clock.arrived),
        ]
    except MissingScope as error:
        fix = "ask for a credential with conversations:read (and, to listen, "
        fix += "conversations:read_sensitive or conversations:manage)"
        return [
            reached,
            accepted,
            _required("scope", "fail", error.message, fix),
            clock_check(clock.date, clock.arrived),
        ]
    except PlatformError as error:
        return [_required("platform", "fail", error.message)]
    listen = "only a real call proves it may listen (snoop-tui watch ID): doctor mints no tokens"
    scope = _required("scope", "ok", f"may read conversations (the board, list); {listen}")
    checks = [reached, accepted, scope]
    if calls and all(c.caller is None and c.agent_number is None for c in calls):
        message = "the platform hides callers' numbers from it, as from a read-only credential"
        fix = "listening needs conversations:read_sensitive or conversations:manage"
        checks.append(Check("listen", "warn", message, fix))
    return [*checks, clock_check(clock.date, clock.arrived)]


def clock_check(date: str | None, arrived: datetime | None) -> Check:
    """This machine's clock (`arrived`: when the answer came) against the platform's `Date`."""
    if date is None or arrived is None:
        return Check("clock", "warn", "the platform sent no Date header; clocks not compared")
    try:
        theirs = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return Check("clock", "warn", "the platform's Date header is unreadable")
    skew = (arrived - theirs.astimezone(UTC)).total_seconds() - 0.5  # Date drops the fraction
    if abs(skew) <= MAX_CLOCK_SKEW:
        return Check("clock", "ok", f"within {max(1, round(abs(skew)))} s of the platform's")
    way = "ahead of" if skew > 0 else "behind"
    message = f"this machine's clock is {abs(skew):.0f} s {way} the platform's"
    fix = "listener tokens expire by the clock: turn on NTP (timedatectl set-ntp true)"
    return Check("clock", "warn", message, fix)


# -- audio: PortAudio, the output devices, PULSE_SERVER -----------------------------


def audio_checks() -> list[Check]:
    return [pulse_server_check(os.environ.get("PULSE_SERVER")), *_devices_within(AUDIO_TIMEOUT)]


def _devices_within(timeout: float) -> list[Check]:
    """The PortAudio and output device checks, in a thread: a sound server that does not
    answer can hold PortAudio for a long time."""
    found: list[list[Check]] = []

    def work() -> None:
        try:
            found.append(_devices_checks())
        except Exception as error:  # PortAudio's own failure: a line, not a traceback
            found.append([Check("portaudio", "fail", f"PortAudio failed: {error}")])

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(timeout)
    if found:
        return found[0]
    message = f"PortAudio did not list the devices within {timeout:g} s"
    return [Check("portaudio", "warn", message, "a sound server that does not answer?")]


def _devices_checks() -> list[Check]:
    # Loads PortAudio, and the mixer that plays through it: only for this check.
    from snoop_tui.audio_output import REINSTALL, import_rtmixer, list_output_devices

    try:
        devices = list_output_devices()
    except SnoopError as error:
        fix = "sudo apt install libportaudio2 (and libasound2-plugins to play over SSH)"
        return [Check("portaudio", "fail", error.message, fix)]
    try:
        import_rtmixer()
    except SnoopError as error:
        return [Check("portaudio", "fail", error.message, REINSTALL)]
    found = Check("portaudio", "ok", "PortAudio is installed")
    if not devices:
        message = "no audio output: Listen will say so, and the transcript still streams"
        return [found, Check("audio", "warn", message, "read snoop-tui help audio")]
    default = next((d.name for d in devices if d.is_default), None)
    named = f"; the default is {default}" if default else ""
    count = f"{len(devices)} output device{'s' if len(devices) != 1 else ''}"
    return [found, Check("audio", "ok", f"{count}{named}")]


def pulse_addresses(value: str) -> list[tuple[str, str | tuple[str, int]]]:
    """The servers PULSE_SERVER names, in its own syntax: `unix:/path` or `/path`, and
    `tcp:host:port`, `tcp6:[::1]:port`, `host` or `host:port` (port 4713 by default)."""
    found: list[tuple[str, str | tuple[str, int]]] = []
    for item in value.split():
        if item.startswith("{"):  # {machine-id}server: for that machine only
            item = item.partition("}")[2]
        if item.startswith(("unix:", "/")):
            found.append(("unix", item.removeprefix("unix:")))
            continue
        for prefix in ("tcp6:", "tcp4:", "tcp:"):
            item = item.removeprefix(prefix)
        host, port = item, PULSE_PORT
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = int(rest[1:]) if rest[1:].isdigit() else PULSE_PORT
        elif item.count(":") == 1:
            host, _, number = item.partition(":")
            port = int(number) if number.isdigit() else PULSE_PORT
        found.append(("tcp", (host, port)))
    return found


def pulse_server_check(value: str | None) -> Check:
    if not value:
        return Check("pulse", "ok", "PULSE_SERVER is not set: the local sound server is used")
    problems = []
    for kind, address in pulse_addresses(value):
        try:
            if kind == "unix":
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.settimeout(PROBE_TIMEOUT)
                    sock.connect(str(address))
            else:
                assert isinstance(address, tuple)
                socket.create_connection(address, timeout=PROBE_TIMEOUT).close()
        except OSError as error:
            problems.append(error.strerror or type(error).__name__)
            continue
        return Check("pulse", "ok", f"PULSE_SERVER={value} answers")
    fix = "is the ssh -R 4713:127.0.0.1:4713 tunnel up? Read snoop-tui help audio"
    why = "; ".join(problems) or "no address in it"
    return Check("pulse", "fail", f"PULSE_SERVER={value} does not answer ({why})", fix)


# -- the terminal: size, colours, locale, tmux ---------------------------------------


def terminal_checks(env: Mapping[str, str] | None = None) -> list[Check]:
    env = os.environ if env is None else env
    return [_size_check(), _colour_check(env), _locale_check(env), _tmux_check(env)]


def _size_check() -> Check:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except (OSError, ValueError):
        return Check("terminal", "ok", "not a terminal (output redirected); size not checked")
    message = f"{size.columns}x{size.lines}"
    if size.columns < 80 or size.lines < 24:
        fix = "make the window at least 80x24: narrower boards drop columns"
        return Check("terminal", "warn", f"{message}: small for the board and panel", fix)
    return Check("terminal", "ok", message)


def _colour_check(env: Mapping[str, str]) -> Check:
    term, colorterm = env.get("TERM", ""), env.get("COLORTERM", "")
    if not term or term == "dumb":
        fix = "run in a terminal emulator; set TERM (e.g. TERM=xterm-256color)"
        return Check("colours", "fail", f"TERM={term or '(unset)'}: no full-screen drawing", fix)
    if "NO_COLOR" in env:
        return Check("colours", "ok", f"NO_COLOR is set: no colours (TERM={term})")
    if colorterm.lower() in ("truecolor", "24bit"):
        return Check("colours", "ok", f"24-bit colour (TERM={term}, COLORTERM={colorterm})")
    if "256" in term or "direct" in term:
        return Check("colours", "ok", f"256 colours (TERM={term})")
    fix = "if your terminal has 256 colours, export TERM=xterm-256color"
    return Check("colours", "warn", f"16 colours (TERM={term})", fix)


def _locale_check(env: Mapping[str, str]) -> Check:
    name = next((v for v in ("LC_ALL", "LC_CTYPE", "LANG") if env.get(v)), None)
    fix = "export LANG=C.UTF-8 (or another UTF-8 locale)"
    if name is None:
        return Check("locale", "warn", "no locale set (LANG, LC_CTYPE, LC_ALL)", fix)
    value = env[name]
    if "utf-8" in value.lower() or "utf8" in value.lower():
        return Check("locale", "ok", f"{name}={value}")
    return Check("locale", "warn", f"{name}={value} is not UTF-8: symbols fall back to ASCII", fix)


def _tmux_check(env: Mapping[str, str]) -> Check:
    if not env.get("TMUX"):
        return Check("tmux", "ok", "not inside tmux")
    try:
        shown = subprocess.run(
            ["tmux", "show-options", "-g", "set-clipboard"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        shown = []
    if len(shown) != 2:
        return Check("tmux", "warn", "inside tmux, but its set-clipboard option is unreadable")
    value = shown[1]
    if value in ("on", "external"):
        return Check("tmux", "ok", f"set-clipboard {value}: copies reach your clipboard")
    fix = "tmux set -g set-clipboard on (and add it to ~/.tmux.conf)"
    return Check("tmux", "warn", f"set-clipboard {value}: copies stay inside tmux", fix)

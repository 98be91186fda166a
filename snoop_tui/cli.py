"""The `snoop-tui` command: sub-commands, flags and exit codes.

Every `SnoopError` ends the process with one line on stderr and its class's
`exit_code` (the README's table lists them all); no traceback reaches a
supervisor's terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from snoop_tui import __version__
from snoop_tui.board_model import ConversationSummary, time_into_call
from snoop_tui.errors import SnoopError, exit_codes
from snoop_tui.logs import configure_logging
from snoop_tui.settings import Secret, Settings, load_settings, validate_conversation_id
from snoop_tui.terminal_guard import is_panel_process, run_guarded

if TYPE_CHECKING:
    from snoop_tui.app import SnoopApp

COMMANDS = ("watch", "board", "demo", "devices", "list")

DESCRIPTION = """\
Listen in on a live AI-agent call from a terminal, as a hidden observer:
the agent and caller can't see you or hear you.

The API credential comes from ANYREACH_TOKEN (or ANYREACH_TOKEN_FILE, or the
config file), never from the command line. ANYREACH_API_URL sets the platform
(default https://api.anyreach.ai); ANYREACH_ORG is needed with pat_ tokens.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="snoop-tui",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"snoop-tui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    watch = commands.add_parser(
        "watch",
        help="listen in on a live conversation (the default command)",
        description="Open the snoop panel on a live conversation. Keys: l Listen, m Mute, x Stop.",
    )
    watch.add_argument("conversation_id", metavar="CONVERSATION_ID")
    _add_platform(watch)
    watch.add_argument(
        "--allow-insecure-ws",
        action="store_true",
        help="accept a ws:// (unencrypted) call server that is not on this machine",
    )
    _add_common(watch)

    board = commands.add_parser(
        "board",
        help="the live calls, refreshed; Enter listens in (the default without an id)",
        description="The organization's live calls, newest first, refreshed every few "
        "seconds. Keys: up/down (j/k) move, Enter listens in, / filters by agent, caller or "
        "number, r refreshes, q quits. Stop (x) in a call comes back here.",
    )
    _add_platform(board)
    board.add_argument(
        "--refresh", type=float, help="seconds between refreshes (default 3; board_refresh)"
    )
    _add_common(board)

    demo = commands.add_parser(
        "demo",
        help="run simulated calls on a local stack and open the board on them",
        description="Start livekit-server, a local platform API and several simulated calls "
        "on 127.0.0.1, open the board on them, and stop them all when the board closes.",
    )
    _add_common(demo)

    commands.add_parser("devices", help="list audio output devices")

    listing = commands.add_parser(
        "list",
        help="print the live calls, newest first (for scripts and screen readers)",
        description="Print the organization's live calls as a plain table, newest first: "
        "id, status, agent, caller, number, channel, direction and time into the call. "
        "Exits 0 when nothing is live (saying so on stderr). Opens no panel.",
    )
    listing.add_argument(
        "--json", action="store_true", help="one JSON object per call, one per line"
    )
    _add_platform(listing)
    listing.add_argument("--log-file", help="write a debug log here (mode 0600, secrets redacted)")
    return parser


def _add_platform(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-url", help="platform API base URL (env ANYREACH_API_URL)")
    parser.add_argument("--org", help="organization id for pat_ tokens (env ANYREACH_ORG)")
    parser.add_argument("--timeout", type=float, help="seconds per platform request (default 10)")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-device", help="audio output device, by name or index")
    parser.add_argument("--log-file", help="write a debug log here (mode 0600, secrets redacted)")


def _normalise(argv: list[str]) -> list[str]:
    """`snoop-tui CONVERSATION_ID` means `watch CONVERSATION_ID`; no id at all, `board`."""
    if any(a in ("-h", "--help", "--version") for a in argv[:1]):
        return argv
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None:
        return ["board", *argv]
    if first not in COMMANDS:
        return ["watch", *argv]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    words = _normalise(list(sys.argv[1:] if argv is None else argv))
    args = _parser().parse_args(words)
    args.words = words
    # Library warnings (LiveKit's FFI is chatty at teardown) belong in the log file,
    # never on the supervisor's terminal, where they would scribble over the panel.
    logging.getLogger().addHandler(logging.NullHandler())
    logging.captureWarnings(True)
    try:
        if getattr(args, "log_file", None):
            configure_logging(args.log_file)
        if args.command == "devices":
            return _devices()
        if args.command == "demo":
            return _demo(args)
        if args.command == "board":
            return _board(args)
        if args.command == "list":
            return _list(args)
        return _watch(args)
    except SnoopError as error:
        return _report(error)
    except KeyboardInterrupt:
        return 130
    except Exception:  # a bug: one line for the supervisor, the details in the log
        logging.getLogger("snoop_tui").exception("unexpected failure")
        return _report(SnoopError("Something unexpected went wrong; see --log-file for details."))


def _report(error: SnoopError) -> int:
    logging.getLogger("snoop_tui").error("%s: %s", error.title, error.message)
    print(f"snoop-tui: {error.title}: {error.message}", file=sys.stderr)
    return error.exit_code


def _watch(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {
        "api_url": args.api_url,
        "org": args.org,
        "request_timeout": args.timeout,
        "output_device": args.output_device,
    }
    settings = load_settings(overrides)
    settings.require_credential()
    conversation_id = validate_conversation_id(args.conversation_id)
    if not is_panel_process():
        return _guard(args)
    return _run_app(settings, conversation_id, args.log_file, args.allow_insecure_ws)


def _board(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {
        "api_url": args.api_url,
        "org": args.org,
        "request_timeout": args.timeout,
        "output_device": args.output_device,
        "board_refresh": args.refresh,
    }
    settings = load_settings(overrides)
    settings.require_credential()
    if not is_panel_process():
        return _guard(args)
    from snoop_tui.launch import make_board_app  # Textual loads only when the board opens

    return _run(make_board_app(settings, log_file=args.log_file, handle_signals=True), args)


def _guard(args: argparse.Namespace) -> int:
    """Run the panel in a child process, and put the terminal back if it dies."""
    panel = [sys.executable, "-m", "snoop_tui", *args.words]
    return run_guarded(panel, args.log_file, exit_codes() | {0, 2, 130})


@contextlib.contextmanager
def _native_stderr_to(path: str) -> Iterator[None]:
    """Keep native libraries from scribbling over the panel.

    PortAudio and LiveKit's native core write diagnostics straight to file
    descriptor 2, which is also where Textual draws. Textual is given its own copy
    of the terminal (it draws on `sys.__stderr__`) and fd 2 goes to `path`.
    """
    if not os.isatty(2):
        yield
        return
    saved = os.dup(2)
    terminal = open(os.dup(2), "w", encoding="utf-8", errors="replace")  # noqa: SIM115
    original = sys.__stderr__
    sink = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(sink, 2)
    os.close(sink)
    sys.__stderr__ = terminal  # type: ignore[misc]
    try:
        yield
    finally:
        sys.__stderr__ = original  # type: ignore[misc]
        os.dup2(saved, 2)
        os.close(saved)
        terminal.close()


def _run_app(
    settings: Settings, conversation_id: str, log_file: str | None, allow_insecure_ws: bool
) -> int:
    from snoop_tui.launch import make_app  # Textual loads only when a panel opens

    app = make_app(
        settings,
        conversation_id,
        allow_insecure_ws=allow_insecure_ws,
        log_file=log_file,
        handle_signals=True,
    )
    with _native_stderr_to(log_file or os.devnull):
        app.run()
    return _ended(app)


def _run(app: SnoopApp[Any], args: argparse.Namespace) -> int:
    with _native_stderr_to(args.log_file or os.devnull):
        app.run()
    return _ended(app)


def _ended(app: SnoopApp[Any]) -> int:
    """The app's exit code; its failure, if any, said in one line."""
    if app.failure is not None:
        return _report(app.failure)
    return app.return_code or 0


def _demo(args: argparse.Namespace) -> int:
    """The local stack with several simulated calls, and the board on it."""
    if not is_panel_process():
        return _guard(args)
    from snoop_tui.demo.stack import LocalStack, board_calls
    from snoop_tui.launch import make_board_app

    async def run() -> int:
        async with LocalStack(calls=board_calls()) as stack:
            settings = Settings(
                api_url=stack.api_url,
                credential=Secret(stack.credential),
                output_device=args.output_device,
            )
            app = make_board_app(settings, log_file=args.log_file, handle_signals=True)
            with _native_stderr_to(args.log_file or os.devnull):
                await app.run_async()
            return _ended(app)

    import asyncio

    return asyncio.run(run())


LIST_COLUMNS = ("ID", "STATUS", "AGENT", "CALLER", "NUMBER", "CHANNEL", "DIRECTION", "TIME")


def _list(args: argparse.Namespace) -> int:
    """`snoop-tui list`: the live calls, from the platform only (no Textual, no LiveKit)."""
    import asyncio
    import json

    from snoop_tui.platform import PlatformClient

    overrides = {"api_url": args.api_url, "org": args.org, "request_timeout": args.timeout}
    settings = load_settings(overrides)
    settings.require_credential()

    async def fetch() -> list[ConversationSummary]:
        async with PlatformClient(settings) as client:
            return await client.list_live_conversations()

    calls = asyncio.run(fetch())
    now = datetime.now(UTC)
    if args.json:
        lines = [json.dumps(_call_record(call, now)) for call in calls]
    else:
        lines = _call_table(calls, now)
        if not calls:
            print("No live calls right now.", file=sys.stderr)
    try:
        for line in lines:
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:  # `snoop-tui list | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _call_record(call: ConversationSummary, now: datetime) -> dict[str, Any]:
    """One call for `list --json`: always these keys, null when the platform did not say."""
    elapsed = (
        None if call.created_at is None else max(0, int((now - call.created_at).total_seconds()))
    )
    return {
        "id": call.id,
        "status": call.status,
        "agent": call.agent_name,
        "agent_id": call.agent_id,
        "caller": call.caller,
        "number": call.agent_number,
        "channel": call.channel,
        "direction": call.direction,
        "created_at": call.created_at.isoformat() if call.created_at else None,
        "seconds_into_call": elapsed,
        "time_into_call": time_into_call(call.created_at, now),
        "duration": call.duration,
        "listenable": call.listenable,
        "not_listenable_reason": call.not_listenable_reason,
    }


def _call_table(calls: Sequence[ConversationSummary], now: datetime) -> list[str]:
    """A plain table: one header, one line per call, columns two spaces apart, "-" for
    what the platform did not say."""
    if not calls:
        return []
    rows = [LIST_COLUMNS] + [
        tuple(
            value or "-"
            for value in (
                call.id,
                call.status,
                call.agent_name,
                call.caller,
                call.agent_number,
                call.channel,
                call.direction,
                time_into_call(call.created_at, now),
            )
        )
        for call in calls
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(LIST_COLUMNS))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _devices() -> int:
    from snoop_tui.audio import list_output_devices

    devices = list_output_devices()
    if not devices:
        print('No audio output devices. See README: "Hearing the audio over SSH".')
        return 0
    for device in devices:
        mark = "*" if device.is_default else " "
        print(
            f"{mark} {device.index:>3}  {device.name}  "
            f"({device.hostapi}, {device.channels} ch, {device.default_samplerate:g} Hz)"
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

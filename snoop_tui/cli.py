"""The `snoop-tui` command: sub-commands, flags and exit codes.

Every `SnoopError` ends the process with one line on stderr and its class's
`exit_code` (the README's table lists them all); no traceback reaches a
supervisor's terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import functools
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from snoop_tui import __version__
from snoop_tui.board_model import ConversationSummary, time_into_call
from snoop_tui.errors import ConfigError, SnoopError, exit_codes
from snoop_tui.logs import configure_logging
from snoop_tui.settings import (
    Secret,
    Settings,
    config_file_path,
    config_file_warnings,
    load_settings,
    validate_conversation_id,
)
from snoop_tui.terminal_guard import is_panel_process, run_guarded

if TYPE_CHECKING:
    from snoop_tui.app import SnoopApp

COMMANDS = ("watch", "board", "demo", "devices", "list", "tail", "doctor", "help")

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
    _add_transcript(watch)
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
    _add_transcript(board)
    _add_common(board)

    demo = commands.add_parser(
        "demo",
        help="run simulated calls on a local stack and open the board on them",
        description="Start livekit-server, a local platform API and several simulated calls "
        "on 127.0.0.1, open the board on them, and stop them all when the board closes.",
    )
    _add_transcript(demo, save=False)
    _add_common(demo)

    commands.add_parser("devices", help="list audio output devices")

    doctor = commands.add_parser(
        "doctor",
        help="check the credential, the platform, audio and the terminal, each with its fix",
        description="Check what snoop-tui needs, one line each with the fix: the credential "
        "and its file, the platform and whether it accepts the credential, the clock, "
        "PortAudio, the audio outputs, PULSE_SERVER and the terminal. Exits 1 when the "
        "config, the credential, the platform or the scope fails, else 0.",
    )
    doctor.add_argument("--json", action="store_true", help="one JSON object per check and line")
    _add_platform(doctor)

    helping = commands.add_parser(
        "help",
        help="notes on a topic: credential, ids, audio, config, keys",
        description="Without a topic, list the topics; with one, print its notes.",
    )
    helping.add_argument("topic", nargs="?", metavar="TOPIC")

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

    tail = commands.add_parser(
        "tail",
        help="print a live call's transcript as lines, as it is said (no panel)",
        description="Join a live conversation as the same hidden, subscribe-only observer and "
        "print each finished segment as one line (03:12 Caller: ...), until the call ends "
        "(exit 0). Time counts from the start of the call. No panel, no audio.",
    )
    tail.add_argument("conversation_id", metavar="CONVERSATION_ID")
    _add_platform(tail)
    tail.add_argument("--json", action="store_true", help="one JSON object per segment and line")
    tail.add_argument(
        "--interim", action="store_true", help="also print unfinished versions, marked (interim)"
    )
    tail.add_argument("--log-file", help="write a debug log here (mode 0600, secrets redacted)")
    tail.add_argument(
        "--allow-insecure-ws",
        action="store_true",
        help="accept a ws:// (unencrypted) call server that is not on this machine",
    )
    return parser


def _add_transcript(parser: argparse.ArgumentParser, *, save: bool = True) -> None:
    parser.add_argument(
        "--alert",
        action="append",
        metavar="PHRASE",
        help="flag the transcript when PHRASE is said (repeatable; adds to `alerts`)",
    )
    if save:
        parser.add_argument(
            "--save",
            metavar="PATH",
            help="where s saves the transcript: a directory or a file name stem (save_dir)",
        )


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


CREDENTIAL_FLAGS = ("--token", "--credential", "--api-key", "--api-token", "--key")


def _refuse_mistakes(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Usage mistakes that argparse would explain badly: a credential given as a flag
    (never echoed), and a mistyped command name (`snoop-tui wtch ID`)."""
    for arg in argv:
        if arg == "--":
            break
        flag = arg.partition("=")[0]
        if flag in CREDENTIAL_FLAGS or flag.startswith("--token"):
            parser.error(
                f"the credential is never a flag ({flag}): it would show in `ps` to every "
                "user of this machine and stay in your shell history. Set ANYREACH_TOKEN, "
                "or ANYREACH_TOKEN_FILE=PATH (a file only you can read), or `token_file` in "
                f"{config_file_path()}. See: snoop-tui help credential"
            )
    first = argv[0] if argv else ""
    if first.isalpha() and first not in COMMANDS:  # ids have digits, '_' or '-'
        near = difflib.get_close_matches(first.lower(), COMMANDS, n=1, cutoff=0.75)
        if near:
            parser.error(
                f"there is no command {first!r}; did you mean {near[0]!r}? "
                f"(commands: {', '.join(COMMANDS)})"
            )


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    _refuse_mistakes(parser, given)
    words = _normalise(given)
    args = parser.parse_args(words)
    args.words = words
    if args.command in ("watch", "board", "list", "tail") and not is_panel_process():
        for warning in config_file_warnings():
            print(f"snoop-tui: warning: {warning}", file=sys.stderr)
    # Library warnings (LiveKit's FFI is chatty at teardown) belong in the log file,
    # never on the supervisor's terminal, where they would scribble over the panel.
    logging.getLogger().addHandler(logging.NullHandler())
    logging.captureWarnings(True)
    try:
        if getattr(args, "log_file", None):
            configure_logging(args.log_file)
        if args.command == "devices":
            return _devices()
        if args.command == "help":
            return _help(parser, args.topic)
        if args.command == "doctor":
            return _doctor(args)
        if args.command == "demo":
            return _demo(args)
        if args.command == "board":
            return _board(args)
        if args.command == "list":
            return _list(args)
        if args.command == "tail":
            return _tail(args)
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
        "alerts": args.alert,
        "save_dir": args.save,
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
        "alerts": args.alert,
        "save_dir": args.save,
    }
    settings = load_settings(overrides)
    settings.require_credential()
    if not is_panel_process():
        return _guard(args)
    from snoop_tui.launch import make_board_app  # Textual loads only when the board opens

    return _run(make_board_app(settings, log_file=args.log_file, handle_signals=True), args)


def _guard(args: argparse.Namespace) -> int:
    """Run the panel in a child process, and put the terminal back if it dies."""
    return run_guarded(
        functools.partial(main, args.words), args.log_file, exit_codes() | {0, 2, 130}
    )


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
        with contextlib.suppress(OSError):  # a hung-up terminal (EIO) takes no last flush
            terminal.close()


def _run_app(
    settings: Settings, conversation_id: str, log_file: str | None, allow_insecure_ws: bool
) -> int:
    from snoop_tui.first_frame import draw_first_frame, undraw

    drawn = draw_first_frame(conversation_id)  # while Textual loads, not after
    running = False
    try:
        from snoop_tui.launch import make_app  # Textual loads only when a panel opens

        app = make_app(
            settings,
            conversation_id,
            allow_insecure_ws=allow_insecure_ws,
            log_file=log_file,
            handle_signals=True,
        )
        running = True  # from here Textual owns the screen, and leaves it as it ends
        with _native_stderr_to(log_file or os.devnull):
            app.run()
    finally:
        if drawn and not running:
            undraw()
    return _ended(app)


def _run(app: SnoopApp[Any], args: argparse.Namespace) -> int:
    with _native_stderr_to(args.log_file or os.devnull):
        app.run()
    return _ended(app)


def _ended(app: SnoopApp[Any]) -> int:
    """The app's exit code; its failure, if any, said in one line."""
    if app.saved:
        saved = " and ".join(str(path) for path in app.saved)
        print(f"snoop-tui: transcript saved to {saved}", file=sys.stderr)
    if app.failure is not None:
        return _report(app.failure)
    return app.return_code or 0


def _demo(args: argparse.Namespace) -> int:
    """The local stack with several simulated calls, and the board on it.

    The guard checks for livekit-server first and gives the stack a temp folder that it
    removes however the panel ends; the stack's processes die with the panel."""
    from snoop_tui.demo import livekit_server

    if not is_panel_process():
        try:
            livekit_server.find_livekit_server()
        except livekit_server.LiveKitServerError as error:
            raise ConfigError(str(error)) from None
        with livekit_server.demo_tmpdir_for_children():
            return _guard(args)
    import asyncio

    from snoop_tui.demo.stack import LocalStack, StackError, board_calls
    from snoop_tui.launch import make_board_app
    from snoop_tui.lifeline import die_with_parent

    guard = os.getppid()
    die_with_parent(guard)  # a guard killed outright sends SIGTERM, which ends us as Stop does

    async def run() -> int:
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        assert task is not None
        stop: Callable[[], object] = task.cancel
        for signum in (signal.SIGTERM, signal.SIGHUP):  # as Stop, until the board takes over
            loop.add_signal_handler(signum, lambda: stop())
        try:
            async with LocalStack(calls=board_calls()) as stack:
                settings = Settings(
                    api_url=stack.api_url,
                    credential=Secret(stack.credential),
                    output_device=args.output_device,
                    alerts=tuple(args.alert or ()),
                )
                app = make_board_app(settings, log_file=args.log_file, handle_signals=True)
                stop = functools.partial(app.exit, return_code=0)
                with _native_stderr_to(args.log_file or os.devnull):
                    await app.run_async()
                return _ended(app)
        except asyncio.CancelledError:  # signalled while the stack was starting
            return 0
        except (StackError, livekit_server.LiveKitServerError) as error:
            raise SnoopError(f"The demo's local stack did not start: {error}") from None

    try:
        return asyncio.run(run())
    finally:
        if os.getppid() != guard:  # the guard is gone: its folder is ours to remove
            livekit_server.remove_orphaned_tmpdir()


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
    with _stdout_may_close():
        for line in lines:
            print(line)
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


def _tail(args: argparse.Namespace) -> int:
    """`snoop-tui tail`: the call process's events as lines (no Textual, no guard)."""
    from snoop_tui.process_call import CallProcess
    from snoop_tui.tail import follow_call

    overrides = {"api_url": args.api_url, "org": args.org, "request_timeout": args.timeout}
    settings = load_settings(overrides)
    settings.require_credential()
    conversation_id = validate_conversation_id(args.conversation_id)
    return follow_call(
        lambda: CallProcess(
            settings,
            conversation_id,
            allow_insecure_ws=args.allow_insecure_ws,
            log_file=args.log_file,
        ),
        out=sys.stdout,
        err=sys.stderr,
        as_json=args.json,
        interim=args.interim,
    )


@contextlib.contextmanager
def _stdout_may_close() -> Iterator[None]:
    """`snoop-tui list | head -1`: a reader that has what it wanted is no failure."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _help(parser: argparse.ArgumentParser, topic: str | None) -> int:
    """`snoop-tui help [TOPIC]`: the topics, one topic's notes, or a command's --help."""
    from snoop_tui.help_topics import TOPICS, topic_list

    if topic in COMMANDS:
        parser.parse_args([topic, "--help"])  # prints the command's help and exits 0
    found = TOPICS.get(topic.lower()) if topic else None
    if topic and found is None:
        print(f"snoop-tui: there is no help topic {topic!r}.\n", file=sys.stderr)
        print(topic_list(), file=sys.stderr)
        return 2
    with _stdout_may_close():
        print(found.text if found else topic_list())
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from snoop_tui import doctor

    overrides = {"api_url": args.api_url, "org": args.org, "request_timeout": args.timeout}
    checks = doctor.run_checks(overrides)
    with _stdout_may_close():
        doctor.print_checks(checks, sys.stdout, as_json=args.json)
    return doctor.exit_code(checks)


def _devices() -> int:
    from snoop_tui.audio import list_output_devices

    devices = list_output_devices()
    if not devices:
        print("No audio output devices. To hear calls over SSH: snoop-tui help audio.")
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

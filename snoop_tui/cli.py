"""The `snoop-tui` command: runs each sub-command (parsed by `snoop_tui.cli_parser`).

Every `SnoopError` ends the process with one line on stderr and its class's
`exit_code` (the README's table lists them all); no traceback reaches a
supervisor's terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from snoop_tui.cli_list import list_calls, stdout_may_close
from snoop_tui.cli_parser import COMMANDS, build_parser, normalise, refuse_mistakes
from snoop_tui.errors import ConfigError, SnoopError, exit_codes
from snoop_tui.logs import configure_logging
from snoop_tui.settings import (
    Secret,
    Settings,
    config_file_warnings,
    load_settings,
    validate_conversation_id,
)
from snoop_tui.terminal_guard import is_panel_process, run_guarded

if TYPE_CHECKING:
    from snoop_tui.app import SnoopApp


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    refuse_mistakes(parser, given)
    words = normalise(given)
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
            return list_calls(args)
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
    with stdout_may_close():
        print(found.text if found else topic_list())
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from snoop_tui import doctor

    overrides = {"api_url": args.api_url, "org": args.org, "request_timeout": args.timeout}
    checks = doctor.run_checks(overrides)
    with stdout_may_close():
        doctor.print_checks(checks, sys.stdout, as_json=args.json)
    return doctor.exit_code(checks)


def _devices() -> int:
    from snoop_tui.audio_output import list_output_devices

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

"""The `snoop-tui` command line: its sub-commands and flags, and the usage mistakes
caught before argparse sees them (a credential given as a flag, a mistyped command).
`snoop_tui.cli` runs what it parses."""

from __future__ import annotations

import argparse
import difflib

from snoop_tui import __version__
from snoop_tui.settings import config_file_path

COMMANDS = ("watch", "board", "demo", "devices", "list", "tail", "doctor", "help")

DESCRIPTION = """\
Listen in on a live AI-agent call from a terminal, as a hidden observer:
the agent and caller can't see you or hear you.

The API credential comes from ANYREACH_TOKEN (or ANYREACH_TOKEN_FILE, or the
config file), never from the command line. ANYREACH_API_URL sets the platform
(default https://api.anyreach.ai); ANYREACH_ORG is needed with pat_ tokens.
"""


def build_parser() -> argparse.ArgumentParser:
    """Every sub-command with its flags and help."""
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


def normalise(argv: list[str]) -> list[str]:
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


def refuse_mistakes(parser: argparse.ArgumentParser, argv: list[str]) -> None:
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

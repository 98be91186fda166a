"""A supervisor's shift, compressed: one board, many calls, faults along the way.

Runs the real board (`make_board_app`: the board process, each opened call in a call
process of its own) in this one process against a real livekit-server and the local
platform API, for 30 consecutive calls. Each call is a simulated call (its own process)
that comes in, is listed, is opened from the board with Enter, talks for
`--call-seconds`, ends (its agent leaves and the platform marks it completed), and is
left with Stop, back to the board. Along the way the livekit-server is killed and
restarted on the same ports 10 times and the call process is killed (SIGKILL) 3 times,
each in the middle of a call. After every call it records this process's RSS, threads
(native ones included) and open file descriptors, checks that no call process or other
child is left, and compares the final segments the call published with those the
panel showed.

    .venv/bin/python -m bench.soak                      # 30 calls x 120 s: about 65 min
    .venv/bin/python -m bench.soak --call-seconds 20    # the same faults, faster

Not run in CI: it takes an hour by design.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from textual.pilot import Pilot

from snoop_tui.app import SnoopApp
from snoop_tui.demo.livekit_server import LocalLiveKitServer
from snoop_tui.demo.platform_api import Conversation, PlatformState, start_platform_api
from snoop_tui.demo.stack import spawn_call
from snoop_tui.events import CallState
from snoop_tui.launch import make_board_app
from snoop_tui.process_call import CallProcess
from snoop_tui.screens.board import BoardScreen
from snoop_tui.settings import Secret, Settings

RESTART_EVERY = 3  # calls 2, 5, 8, ...: 10 restarts in 30 calls
KILL_AT = (3, 12, 21)  # call-process kills, never in a restart call


@dataclass
class CallResult:
    number: int
    fault: str
    published: int
    shown: int
    duplicates: int
    missing: int
    foreign: int
    rss_mib: float
    threads: int
    fds: int
    children: int
    call_processes: int
    seconds: float


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every live process."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if stat[0] != "Z":
            found.append((int(entry), int(stat[1]), cmdline.decode(errors="replace")))
    return found


async def until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def listed(app: SnoopApp[CallProcess], conversation: str) -> bool:
    assert app.board is not None
    return any(row.id == conversation and not row.ended for row in app.board.calls.rows)


def highlighted(app: SnoopApp[CallProcess]) -> str | None:
    assert app.board is not None
    row = app.board.calls.highlighted
    return row.id if row is not None else None


async def one_call(
    number: int,
    app: SnoopApp[CallProcess],
    pilot: Pilot[None],
    server: LocalLiveKitServer,
    state: PlatformState,
    workdir: Path,
    call_seconds: float,
) -> CallResult:
    started = time.monotonic()
    conversation = f"conv_soak_{number:02d}"
    room = f"soak-{number:02d}"
    finals_file = workdir / f"finals-{number:02d}.jsonl"
    call = spawn_call(
        server,
        room,
        workdir,
        loops=None,
        words_per_second=6,
        wait_for_listener=15,
        extra_args=("--resilient", "--finals-file", str(finals_file)),
    )
    state.conversations[conversation] = Conversation(id=conversation, room_name=room)
    fault = "restart" if number % RESTART_EVERY == 2 else "kill" if number in KILL_AT else ""
    await until(lambda: listed(app, conversation), 30, "the call on the board")
    while highlighted(app) != conversation:  # newest first: it is at the top
        await pilot.press("home")
    await pilot.press("enter")
    await until(lambda: not isinstance(app.screen, BoardScreen), 10, "the panel")
    panel = app.panel
    assert panel.conversation_id == conversation
    await until(lambda: panel.call_state is CallState.LIVE, 60, "LIVE")
    await asyncio.sleep(call_seconds / 2)
    if fault == "restart":
        await asyncio.to_thread(server.restart)
    elif fault == "kill" and app.call.pid is not None:
        os.kill(app.call.pid, signal.SIGKILL)
    if fault:
        await until(lambda: panel.call_state is not CallState.LIVE, 30, "the fault")
        await until(lambda: panel.call_state is CallState.LIVE, 90, "LIVE again")
    await asyncio.sleep(call_seconds / 2)
    call.stop(timeout=15)  # the call ends: its agent leaves, the platform completes it
    state.conversations[conversation].status = "completed"
    await until(lambda: panel.call_state is CallState.ENDED, 30, "Ended")
    shown = [s.id for s in panel.transcript.segments() if s.final]
    await pilot.press("x")  # Stop: back to the board
    await until(lambda: isinstance(app.screen, BoardScreen), 10, "the board")
    await until(lambda: not listed(app, conversation), 30, "the call off the board")
    published = [json.loads(line)["id"] for line in finals_file.read_text().splitlines()]
    me = os.getpid()
    kids = [p for p in processes() if p[1] == me and p[0] != server.pid]
    return CallResult(
        number=number,
        fault=fault,
        published=len(published),
        shown=len(shown),
        duplicates=len(shown) - len(set(shown)),
        missing=len(set(published) - set(shown)),
        foreign=len(set(shown) - set(published)),
        rss_mib=rss_mib(),
        threads=threads(),
        fds=fds(),
        children=len(kids),
        call_processes=sum(
            "snoop_tui.call_process" in p[2] and f"--parent {me} " in p[2] + " "
            for p in processes()
        ),
        seconds=time.monotonic() - started,
    )


async def main(calls: int, call_seconds: float) -> int:
    results: list[CallResult] = []
    with LocalLiveKitServer() as server, tempfile.TemporaryDirectory() as tmp:
        state = PlatformState(server.url, server.api_key, server.api_secret)
        runner, base_url = await start_platform_api(state)
        settings = Settings(
            api_url=base_url, credential=Secret("ak_demo_sensitive"), board_refresh=1.0
        )
        await asyncio.to_thread(int)  # the loop's worker thread (restarts use it) exists from now
        app = make_board_app(settings)
        try:
            async with app.run_test(size=(100, 30)) as pilot:
                await until(lambda: app.board is not None and app.board.is_mounted, 30, "board")
                before = (rss_mib(), threads(), fds())
                for number in range(calls):
                    result = await one_call(
                        number, app, pilot, server, state, Path(tmp), call_seconds
                    )
                    results.append(result)
                    print(
                        f"call {number:2d} {result.fault or '-':7s} "
                        f"published {result.published:3d} shown {result.shown:3d} "
                        f"dup {result.duplicates} missing {result.missing} "
                        f"rss {result.rss_mib:6.1f} MiB threads {result.threads} "
                        f"fds {result.fds} children {result.children} "
                        f"call processes {result.call_processes} ({result.seconds:.0f} s)",
                        flush=True,
                    )
                await pilot.press("q")
        finally:
            await runner.cleanup()
    return report(before, results, call_seconds)


def report(before: tuple[float, int, int], results: list[CallResult], seconds: float) -> int:
    first, last = results[0], results[-1]
    faults = [r for r in results if r.fault]
    clean = [r for r in results if not r.fault]
    print(f"\n{len(results)} calls of {seconds:g} s; before the first call: "
          f"RSS {before[0]:.1f} MiB, {before[1]} threads, {before[2]} fds")  # fmt: skip
    print("| measure | after call 1 | after the last call | change |")
    print("|---|---|---|---|")
    print(f"| RSS (MiB) | {first.rss_mib:.1f} | {last.rss_mib:.1f} | "
          f"{last.rss_mib - first.rss_mib:+.1f} |")  # fmt: skip
    print(f"| threads | {first.threads} | {last.threads} | {last.threads - first.threads:+d} |")
    print(f"| open fds | {first.fds} | {last.fds} | {last.fds - first.fds:+d} |")
    print(f"| child processes left | {first.children} | {last.children} | |")
    print(f"| call processes left | {first.call_processes} | {last.call_processes} | |")
    print(
        f"finals: {sum(r.published for r in results)} published, "
        f"{sum(r.shown for r in results)} shown, "
        f"{sum(r.duplicates for r in results)} duplicated, "
        f"{sum(r.foreign for r in results)} not published; missing "
        f"{sum(r.missing for r in clean)} in calls without a fault, "
        f"{sum(r.missing for r in faults if r.fault == 'restart')} across restarts, "
        f"{sum(r.missing for r in faults if r.fault == 'kill')} across call-process kills"
    )
    print(f"median call: {statistics.median(r.seconds for r in results):.0f} s")
    ok = (
        abs(last.rss_mib - first.rss_mib) <= 20
        and last.threads <= first.threads
        and last.fds <= first.fds
        and all(r.children == 0 and r.call_processes == 0 for r in results)
        and all(r.duplicates == 0 and r.foreign == 0 for r in results)
        and all(r.missing == 0 for r in results if r.fault != "kill")
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--call-seconds", type=float, default=120.0)
    options = parser.parse_args()
    sys.exit(asyncio.run(main(options.calls, options.call_seconds)))

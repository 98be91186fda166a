"""`python -m bench` (or `scripts/bench`): snoop-tui's performance against a bare SDK subscriber.

Runs, against the real local stack (livekit-server, the local platform API and the
demo's simulated call, all on 127.0.0.1), and prints Markdown: the machine, a
section per measurement, and a summary with each figure's goal and its ratio to
the bare subscriber measured in the same run.

    start    7. `snoop-tui watch` start -> first paint, -> LIVE; bare start -> subscribed
    cpu      1-3. CPU muted and listening, panel + call process vs the bare subscriber
    scaling  4. new final -> frame, key -> screen, RSS at 100 ... 10,000 finals shown
    burst    5. 1,000 finals in 5 s -> on screen, on 0 / 5,000 / 9,000
    flood    6. key -> screen during a 200/s interim flood; how far behind at its end
    ttl      bench.time_to_live (token + join, in-process panel to LIVE)
    audio    bench.audio_latency (only when asked for: --only audio)

    python -m bench                 # everything but audio: about 12 minutes
    python -m bench --quick         # small sizes, short rounds: about 3 minutes
    python -m bench --only cpu --only start
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable

from bench import cpu, panel, start
from bench.common import PYTHON, REPO_ROOT, BenchStack, code_version, load_average, machine
from bench.report import Report, Row, note

NAMES = ("start", "cpu", "scaling", "burst", "flood", "ttl", "audio")
DEFAULT = tuple(name for name in NAMES if name != "audio")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and short rounds")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these ({', '.join(NAMES)}); repeat or separate with commas",
    )
    return parser


def _selected(only: list[str] | None) -> list[str]:
    if not only:
        return list(DEFAULT)
    chosen = {name.strip() for item in only for name in item.split(",") if name.strip()}
    unknown = chosen - set(NAMES)
    if unknown:
        raise SystemExit(f"python -m bench: unknown measurement(s): {', '.join(sorted(unknown))}")
    return [name for name in NAMES if name in chosen]


async def _stack_measurements(names: list[str], quick: bool, report: Report) -> None:
    plan = panel.QUICK if quick else panel.FULL
    runners: dict[str, Callable[[BenchStack], Awaitable[None]]] = {
        "start": lambda s: start.start(s, 3 if quick else 10, report),
        "cpu": lambda s: cpu.cpu(s, 1 if quick else 3, 20.0 if quick else 60.0, report),
        "scaling": lambda s: panel.scaling(s, plan, report),
        "burst": lambda s: panel.burst(s, plan, report),
        "flood": lambda s: panel.flood(s, plan, report),
    }
    wanted = [name for name in names if name in runners]
    if not wanted:
        return
    async with BenchStack() as stack:
        for name in wanted:
            note(f"{name} ...")
            try:
                await runners[name](stack)
            except Exception as error:  # one failed measurement must not lose the others
                report.failed(name, error)


def _time_to_live(quick: bool, report: Report) -> None:
    runs = 5 if quick else 15
    note(f"ttl: bench.time_to_live --runs {runs}")
    done = subprocess.run(
        [PYTHON, "-m", "bench.time_to_live", "--runs", str(runs)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        report.failed("ttl", RuntimeError(done.stderr.strip().splitlines()[-1:]))
        return
    lines = [f"`python -m bench.time_to_live --runs {runs}`, as it prints:", ""]
    report.section("Time to LIVE (bench.time_to_live)", lines + done.stdout.strip().splitlines())
    medians = dict(re.findall(r"^\| (core|panel)[^|]*\| \d+ \| (\d+) \|", done.stdout, re.M))
    if medians:
        report.add(
            Row(
                "time to LIVE in-process (token + join; headless panel to LIVE)",
                f"core {medians.get('core', '?')} ms, panel {medians.get('panel', '?')} ms",
                "(none set)",
            )
        )


def _audio(quick: bool) -> None:
    argv = [PYTHON, "-m", "bench.audio_latency"] + (["--seconds", "5"] if quick else [])
    note(f"audio: {' '.join(argv[1:])}")
    print("\n## Audio playback latency and drift (bench.audio_latency)\n", flush=True)
    subprocess.run(argv, cwd=REPO_ROOT, check=False, timeout=900)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = _selected(args.only)
    report = Report()
    command = "python -m bench" + (f" {' '.join(sys.argv[1:])}" if sys.argv[1:] else "")
    print("# snoop-tui benchmarks\n")
    print(f"Command: `{command}`\n")
    print(f"Machine: {machine()}\n")
    print(f"Code: {code_version()}\n")
    print(f"Load average (1 / 5 / 15 min) at the start: {load_average()}", flush=True)
    asyncio.run(_stack_measurements(names, args.quick, report))
    if "ttl" in names:
        _time_to_live(args.quick, report)
    if "audio" in names:
        _audio(args.quick)
    print(f"\nLoad average at the end: {load_average()}; code at the end: {code_version()}")
    if report.rows or report.failures:
        report.section("Summary", report.summary())
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())

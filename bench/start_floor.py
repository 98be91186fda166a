"""How soon any process beside a panel could join: the bare subscriber's start, crowded.

Goal 7b holds `snoop-tui watch` to 1.3x the bare subscriber's start to subscribed. The
panel's process spends CPU drawing itself while the call process joins (about 260 ms
of it by LIVE: the interpreter, Textual, the app's first frame), on the same two cores
as livekit-server and the simulated call. This measures what that CPU alone does to a
join, with nothing of ours in the way: the bare subscriber (`bench.bare_subscriber`)
started alone, then started at the same instant as a stand-in for the panel's start (a
process that imports the app, then keeps a core busy until it has used the panel's
CPU), and the same stand-in at a lower priority. Variants alternate, after one warm-up
round that is not counted; every run is a new process. Prints a Markdown table of the
bare subscriber's start to its first audio track subscribed: medians and each variant's
ratio to alone.

    python -m bench.start_floor [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass

from bench.common import PYTHON, REPO_ROOT, BareSubscriber, BenchStack, median, talking_call

PANEL_CPU_S = 0.26
"""CPU the panel's process has used when LIVE is on screen (`--only start`: 240 to 270 ms)."""


@dataclass(frozen=True)
class Crowd:
    name: str
    cpu_s: float | None
    """CPU the stand-in uses in all; None: no stand-in."""
    nice: int = 0


CROWDS = (
    Crowd("alone", None),
    Crowd("beside the panel's start CPU", PANEL_CPU_S),
    Crowd("beside half of it", PANEL_CPU_S / 2),
    Crowd("beside the panel's start CPU, at nice 10", PANEL_CPU_S, nice=10),
)


def stand_in(cpu_s: float, nice: int) -> subprocess.Popen[bytes]:
    """A process that imports what the panel imports, then spins until it has used `cpu_s`."""
    code = (
        "import time, snoop_tui.launch, snoop_tui.app\n"
        f"while time.process_time() < {cpu_s}:\n    pass\n"
    )
    return subprocess.Popen(
        [PYTHON, "-c", code],
        cwd=REPO_ROOT,
        preexec_fn=(lambda: os.nice(nice)) if nice else None,  # noqa: PLW1509
    )


async def subscribed_beside(stack: BenchStack, conversation: str, crowd: Crowd) -> float:
    """Seconds from the bare subscriber's start to its first audio track subscribed."""
    other = stand_in(crowd.cpu_s, crowd.nice) if crowd.cpu_s is not None else None
    try:
        bare = await BareSubscriber.start(stack, conversation)
        await bare.stop()
    finally:
        if other is not None:
            await asyncio.to_thread(other.wait)
    return bare.since_start("subscribed")


async def run(runs: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {crowd.name: [] for crowd in CROWDS}
    async with BenchStack() as stack:
        conversation, room = stack.conversation("floor")
        async with talking_call(stack, room):
            for n in range(1 + runs):
                warm_up = " (warm-up)" if n == 0 else ""
                print(f"start_floor: round {n} of {runs}{warm_up}", file=sys.stderr)
                for crowd in CROWDS:
                    took = await subscribed_beside(stack, conversation, crowd)
                    if n:
                        found[crowd.name].append(took)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.start_floor")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    found = asyncio.run(run(args.runs))
    alone = median(found["alone"])
    print(f"{args.runs} runs of each, alternating; the bare subscriber's start to subscribed.\n")
    print("| the bare subscriber started | median ms | min ms | max ms | vs alone |")
    print("|---|---|---|---|---|")
    for name, values in found.items():
        m = median(values)
        print(
            f"| {name} | {m * 1000:.1f} | {min(values) * 1000:.1f} | "
            f"{max(values) * 1000:.1f} | {m / alone:.2f}x |"
        )


if __name__ == "__main__":
    main()

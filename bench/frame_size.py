"""What the length of LiveKit's audio frames costs a subscriber reading every one.

Bare SDK subscribers (`bench.bare_subscriber --read-audio`), one per frame length, side
by side on the same talking call over the same seconds (so the machine's drifting speed
touches them alike): the SDK's default 10 ms frames against 20 and 40 ms ones, asked of
`rtc.AudioStream` with `frame_size_ms`. Each frame costs a toll of its own (LiveKit's
FFI event, decoded in Python and handed to every stream's queue, then the reader's
wake-up), so fewer, longer frames cost less; the call process reads 20 ms frames
(`snoop_tui.audio.FRAME_MS`). Prints a Markdown table: CPU s/min per process, split
into the Python main thread and LiveKit's native core, for each round and the medians.

    python -m bench.frame_size [--rounds N] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from bench.common import (
    BareSubscriber,
    BenchStack,
    load_average,
    median,
    process_cpu,
    talking_call,
    thread_cpu,
)
from bench.cpu import SETTLE, by_kind

FRAME_LENGTHS = (10, 20, 40)


async def measure(rounds: int, seconds: float) -> dict[int, list[tuple[float, float, float]]]:
    """Per frame length, per round: (process, main thread, native core) CPU s/min."""
    results: dict[int, list[tuple[float, float, float]]] = {ms: [] for ms in FRAME_LENGTHS}
    async with BenchStack() as stack:
        conversation, room = stack.conversation("frames")
        async with talking_call(stack, room, continuous_audio=True):
            subscribers: dict[int, BareSubscriber] = {}
            try:
                for ms in FRAME_LENGTHS:
                    subscribers[ms] = await BareSubscriber.start(
                        stack, conversation, read_audio=True, frame_ms=ms
                    )
                await asyncio.sleep(SETTLE)
                for n in range(rounds):
                    print(f"frame_size: round {n + 1} of {rounds}", file=sys.stderr, flush=True)
                    threads = {ms: thread_cpu(s.pid) for ms, s in subscribers.items()}
                    totals = {ms: process_cpu(s.pid) for ms, s in subscribers.items()}
                    start = time.monotonic()
                    await asyncio.sleep(seconds)
                    per_minute = 60 / (time.monotonic() - start)
                    for ms, s in subscribers.items():
                        kinds = by_kind(s.pid, threads[ms])
                        results[ms].append(
                            (
                                (process_cpu(s.pid) - totals[ms]) * per_minute,
                                kinds["main"] * per_minute,
                                kinds["native"] * per_minute,
                            )
                        )
            finally:
                for s in subscribers.values():
                    await s.stop()
    return results


def report(results: dict[int, list[tuple[float, float, float]]]) -> str:
    default = median([r[0] for r in results[FRAME_LENGTHS[0]]])
    lines = [
        "| frame | CPU s/min (rounds) | median | main thread | native core | vs 10 ms |",
        "|---|---|---|---|---|---|",
    ]
    for ms, rounds in results.items():
        total = median([r[0] for r in rounds])
        lines.append(
            f"| {ms} ms | {', '.join(f'{r[0]:.2f}' for r in rounds)} | {total:.2f} | "
            f"{median([r[1] for r in rounds]):.2f} | {median([r[2] for r in rounds]):.2f} | "
            f"{total / default:.2f}x |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    print(f"load average at the start: {load_average()}")
    results = asyncio.run(measure(args.rounds, args.seconds))
    print(report(results))
    print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

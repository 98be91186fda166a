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

from bench.common import (
    BareSubscriber,
    BenchStack,
    load_average,
    talking_call,
)
from bench.cpu import SETTLE, Phase, measure

FRAME_LENGTHS = (10, 20, 40)


async def run(rounds: int, seconds: float) -> Phase:
    """The bare subscribers' CPU over the rounds, one process per frame length (named by it)."""
    async with BenchStack() as stack:
        conversation, room = stack.conversation("frames")
        async with talking_call(stack, room, continuous_audio=True):
            subscribers: dict[str, BareSubscriber] = {}
            try:
                for ms in FRAME_LENGTHS:
                    subscribers[str(ms)] = await BareSubscriber.start(
                        stack, conversation, read_audio=True, frame_ms=ms
                    )
                await asyncio.sleep(SETTLE)
                pids = {name: s.pid for name, s in subscribers.items()}
                return await measure("frame_size", pids, rounds, seconds)
            finally:
                for s in subscribers.values():
                    await s.stop()


def report(phase: Phase) -> str:
    default = phase.per_minute(str(FRAME_LENGTHS[0]))
    lines = [
        "| frame | CPU s/min (rounds) | median | main thread | native core | vs 10 ms |",
        "|---|---|---|---|---|---|",
    ]
    for ms in FRAME_LENGTHS:
        name = str(ms)
        total = phase.per_minute(name)
        lines.append(
            f"| {ms} ms | {', '.join(f'{r[name]:.2f}' for r in phase.rounds)} | {total:.2f} | "
            f"{phase.per_kind(name, 'main'):.2f} | {phase.per_kind(name, 'native'):.2f} | "
            f"{total / default:.2f}x |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    print(f"load average at the start: {load_average()}")
    print(report(asyncio.run(run(args.rounds, args.seconds))))
    print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

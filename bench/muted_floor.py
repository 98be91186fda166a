"""What a muted listener pays for its audio subscriptions, and what they bring it.

Goal 2's floor is `bench.bare_subscriber` with the call's audio tracks subscribed and
left unread: LiveKit's native core still receives and decodes them. This runs it side
by side with the same subscriber subscribed to no track (`--no-audio`; the
transcription still comes, over the data channel), on the demo's simulated call
talking in turns, and prints each one's CPU and the active-speaker updates the server
sent it: livekit-server sends a participant only the speakers it is subscribed to, so
who is speaking comes with the audio subscription.

    python -m bench.muted_floor [--rounds N] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bench.common import BareSubscriber, BenchStack, median, process_cpu, talking_call

SETTLE = 3.0
"""Seconds after both have joined before the first round."""


async def run(rounds: int, seconds: float) -> tuple[dict[str, list[float]], dict[str, int]]:
    cpu: dict[str, list[float]] = {"audio subscribed": [], "no track subscribed": []}
    async with BenchStack() as stack:
        conversation, room = stack.conversation("muted")
        async with talking_call(stack, room):
            subscribers = {
                "audio subscribed": await BareSubscriber.start(stack, conversation),
                "no track subscribed": await BareSubscriber.start(stack, conversation, audio=False),
            }
            try:
                await asyncio.sleep(SETTLE)
                for n in range(rounds):
                    print(f"muted_floor: round {n + 1} of {rounds}", file=sys.stderr)
                    before = {name: process_cpu(s.pid) for name, s in subscribers.items()}
                    await asyncio.sleep(seconds)
                    for name, s in subscribers.items():
                        cpu[name].append((process_cpu(s.pid) - before[name]) * 60 / seconds)
            finally:
                for s in subscribers.values():
                    await s.stop()
    return cpu, {name: s.speaker_changes or 0 for name, s in subscribers.items()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.muted_floor")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    cpu, speakers = asyncio.run(run(args.rounds, args.seconds))
    floor = median(cpu["audio subscribed"])
    print(
        f"{args.rounds} rounds of {args.seconds:g} s, side by side; CPU seconds per minute of "
        "wall time, medians; speaker updates over the whole run.\n"
    )
    print("| bare subscriber | CPU s/min | rounds | vs audio subscribed | speaker updates |")
    print("|---|---|---|---|---|")
    for name, values in cpu.items():
        rounds = ", ".join(f"{v:.2f}" for v in values)
        print(
            f"| {name} | {median(values):.2f} | {rounds} | {median(values) / floor:.2f}x | "
            f"{speakers[name]} |"
        )


if __name__ == "__main__":
    main()

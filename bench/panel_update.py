"""The panel's CPU per interim update: the real app, headless, on a scripted call.

One interim update is what a call sends for every word spoken: the segment's text
grows by a word, or a new segment starts. This feeds the real `SnoopApp` (Textual's
headless driver, 100 x 30) such updates 50 a second, on a transcript of a few hundred
lines, and divides the main thread's CPU time by their count: message, model, view,
and the frame Textual composes for it. No server: what it isolates is the panel's own
cost, the part of "CPU while muted" that is Textual's.

    .venv/bin/python -m bench.panel_update [--rounds 5] [--updates 400]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from snoop_tui.app import SnoopApp
from snoop_tui.events import CallState, RoomAssigned, StateChanged, TranscriptUpdated
from snoop_tui.transcript import Role, TranscriptSegment
from tests.panel_states import ScriptedCall

WORDS = (
    "hi my bill this month is almost twice what I usually pay and I do not understand why"
).split()
PACE_S = 0.02  # 50 updates a second: every one gets its own frame
WARM_UP = 200


class Speaker:
    """Interim updates a word at a time; every len(WORDS) updates, a final and a new turn."""

    def __init__(self, call: ScriptedCall) -> None:
        self.call = call
        self.sent = 0
        self.turn = 0

    def say(self) -> None:
        words = self.sent % len(WORDS) + 1
        final = words == len(WORDS)
        role = Role.AGENT if self.turn % 2 else Role.CALLER
        text = " ".join(WORDS[:words])
        spoken = 1.7e12 + self.turn * 1000.0
        segment = TranscriptSegment(
            f"S{self.turn}", role, role.label, text, final, self.turn, spoken, "sender"
        )
        self.call.emit(TranscriptUpdated(segment))
        self.turn += final
        self.sent += 1


async def one_round(updates: int) -> float:
    """Milliseconds of main-thread CPU per update."""
    call = ScriptedCall([RoomAssigned("room"), StateChanged(CallState.LIVE)])
    app = SnoopApp("conv_bench", call)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        speaker = Speaker(call)
        for _ in range(WARM_UP):
            speaker.say()
            await asyncio.sleep(PACE_S)
        start = time.thread_time()
        for _ in range(updates):
            speaker.say()
            await asyncio.sleep(PACE_S)
        return (time.thread_time() - start) / updates * 1000


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.panel_update")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--updates", type=int, default=400)
    args = parser.parse_args()
    results = [asyncio.run(one_round(args.updates)) for _ in range(args.rounds)]
    shown = ", ".join(f"{r:.2f}" for r in results)
    print(f"panel CPU per interim update: median {statistics.median(results):.2f} ms ({shown})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

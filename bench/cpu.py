"""CPU while watching a call, muted and listening, against a bare SDK subscriber: items 2, 3.

The product as a supervisor runs it: `snoop-tui watch ID` on a real pseudo-terminal
(100 x 30), whose output a thread drains, on the demo's simulated call talking
without pause (the script on repeat at 4 words a second, both voices audible all the
time). Alongside it, on the same call over the same seconds, `bench.bare_subscriber`
(without reading audio while we are muted, with `--read-audio` while we listen).

CPU is utime + stime from /proc/PID/stat, every thread included, taken at the start
and end of each round: the panel process plus its call process (the guard, which only
waits for the panel, is shown apart) against the bare subscriber's one process.
Listening plays into a private PulseAudio null sink (the tests' sink: PortAudio's
ALSA default device through the pulse plugin); the PulseAudio daemon's own CPU is
nobody's.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench.common import (
    PYTHON,
    BareSubscriber,
    BenchStack,
    cpu_seconds,
    load_average,
    median,
    only_child,
    rss_mib,
    talking_call,
)
from bench.report import Report, Row, note
from bench.terminal import Terminal
from tests.fixtures_audio import private_null_sink

SETTLE = 3.0
"""Seconds after joining (or pressing Listen) before the first round."""
NAMES = ("panel", "call", "guard", "bare")


@dataclass
class Phase:
    name: str
    rounds: list[dict[str, float]]
    """CPU seconds per minute of each process, per round."""
    rss: dict[str, float]
    load: str

    def per_minute(self, name: str) -> float:
        return median([r[name] for r in self.rounds])

    @property
    def ours(self) -> float:
        return median([r["panel"] + r["call"] for r in self.rounds])

    @property
    def ratio(self) -> float:
        return median([(r["panel"] + r["call"]) / r["bare"] for r in self.rounds])


async def _measure(name: str, pids: dict[str, int], rounds: int, seconds: float) -> Phase:
    per_round = []
    for n in range(rounds):
        note(f"cpu: {name}, round {n + 1} of {rounds} ({seconds:g} s)")
        before = {k: cpu_seconds(pid) for k, pid in pids.items()}
        start = time.monotonic()
        await asyncio.sleep(seconds)
        after = {k: cpu_seconds(pid) for k, pid in pids.items()}
        wall = time.monotonic() - start
        per_round.append({k: (after[k] - before[k]) / wall * 60 for k in pids})
    rss = {k: rss_mib(pid) for k, pid in pids.items()}
    return Phase(name, per_round, rss, load_average())


async def cpu(stack: BenchStack, rounds: int, seconds: float, report: Report) -> None:
    conversation, room = stack.conversation("cpu")
    with private_null_sink():  # sets PULSE_SERVER and friends in os.environ for the children
        async with talking_call(stack, room, continuous_audio=True):
            term = Terminal([PYTHON, "-m", "snoop_tui", "watch", conversation], stack.env())
            try:
                await term.wait_for(b"LIVE", timeout=60)
                guard = term.pid
                panel = await only_child(guard)
                call = await only_child(panel)
                pids = {"panel": panel, "call": call, "guard": guard}
                bare = await BareSubscriber.start(stack, conversation)
                try:
                    await asyncio.sleep(SETTLE)
                    muted = await _measure("muted", {**pids, "bare": bare.pid}, rounds, seconds)
                finally:
                    await bare.stop()
                mark = term.length
                term.type(b"l")
                await term.wait_for(b"listening", since=mark, timeout=15)
                bare = await BareSubscriber.start(stack, conversation, read_audio=True)
                try:
                    await asyncio.sleep(SETTLE)
                    listening = await _measure(
                        "listening", {**pids, "bare": bare.pid}, rounds, seconds
                    )
                finally:
                    await bare.stop()
            finally:
                await term.close()
    _report([muted, listening], rounds, seconds, report)


def _report(phases: list[Phase], rounds: int, seconds: float, report: Report) -> None:
    lines = [
        f"{rounds} round(s) of {seconds:g} s per phase, after {SETTLE:g} s to settle; CPU "
        "seconds per minute of wall time (60 = one core busy); medians over the rounds.",
        "",
        "| phase | panel | call process | panel + call | guard | bare subscriber | ratio | "
        "per round, ours / bare | RSS panel + call MiB | RSS bare MiB | load average |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in phases:
        per_round = ", ".join(f"{r['panel'] + r['call']:.2f} / {r['bare']:.2f}" for r in p.rounds)
        bare_name = "bare, reading audio" if p.name == "listening" else "bare"
        lines.append(
            f"| {p.name} | {p.per_minute('panel'):.2f} | {p.per_minute('call'):.2f} | "
            f"{p.ours:.2f} | {p.per_minute('guard'):.2f} | {p.per_minute('bare'):.2f} "
            f"({bare_name}) | {p.ratio:.2f}x | {per_round} | {p.rss['panel']:.0f} + "
            f"{p.rss['call']:.0f} | {p.rss['bare']:.0f} | {p.load} |"
        )
    report.section("2, 3. CPU while watching a call", lines)
    muted, listening = phases
    report.add(
        Row(
            "1. floor: bare SDK subscriber on the same call",
            f"{muted.per_minute('bare'):.2f} CPU s/min; reading audio "
            f"{listening.per_minute('bare'):.2f}; RSS {muted.rss['bare']:.0f} MiB",
            "",
        ),
        Row(
            "2. CPU while muted (panel + call process)",
            f"{muted.ours:.2f} CPU s/min (panel {muted.per_minute('panel'):.2f}, call "
            f"{muted.per_minute('call'):.2f})",
            "<= 1.3x bare",
            f"{muted.ratio:.2f}x",
            muted.ratio <= 1.3,
        ),
        Row(
            "3. CPU while listening (panel + call process)",
            f"{listening.ours:.2f} CPU s/min (panel {listening.per_minute('panel'):.2f}, "
            f"call {listening.per_minute('call'):.2f})",
            "<= 1.3x bare reading audio",
            f"{listening.ratio:.2f}x",
            listening.ratio <= 1.3,
        ),
    )

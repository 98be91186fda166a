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
nobody's. While we listen, `bench.playback_floor` (a process that only plays silence,
opened as our player opens the device) runs too: the bare subscriber reading audio
plus it is what any player of the call would cost at the least.

Each process's CPU is also split by thread (/proc/PID/task): the Python main thread
(the event loop), LiveKit's native core (its Rust runtime and WebRTC's threads), the
other Python-created threads (in the call process while listening: PortAudio's audio
callback) and PulseAudio's client thread.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench.common import (
    PYTHON,
    REPO_ROOT,
    BareSubscriber,
    BenchStack,
    load_average,
    median,
    only_child,
    process_cpu,
    rss_mib,
    stop_child,
    talking_call,
    thread_cpu,
    thread_kind,
)
from bench.report import Report, Row, note
from bench.terminal import Terminal
from tests.fixtures_audio import private_null_sink

SETTLE = 3.0
"""Seconds after joining (or pressing Listen) before the first round."""
KINDS = ("main", "native", "threads", "pulse")
KIND_NAMES = {
    "main": "Python main thread (event loop)",
    "native": "LiveKit's native core",
    "threads": "other Python threads (the audio callback; the panel's input and output)",
    "pulse": "PulseAudio client",
}
PER_THREAD = ("panel", "call", "bare", "floor")
"""The processes whose CPU is split by thread in the report."""


def _by_kind(pid: int, before: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per kind of thread since `before` (threads that ended are not counted)."""
    spent = dict.fromkeys(KINDS, 0.0)
    for tid, (name, seconds) in thread_cpu(pid).items():
        spent[thread_kind(pid, tid, name)] += seconds - before.get(tid, (name, 0.0))[1]
    return spent


@dataclass
class Phase:
    name: str
    rounds: list[dict[str, float]]
    """CPU seconds per minute of each process, per round."""
    kinds: list[dict[str, dict[str, float]]]
    """CPU seconds per minute of each kind of thread, per process, per round."""
    rss: dict[str, float]
    load: str

    def per_minute(self, name: str) -> float:
        return median([r[name] for r in self.rounds])

    def per_kind(self, name: str, kind: str) -> float:
        return median([r[name][kind] for r in self.kinds])

    @property
    def ours(self) -> float:
        return median([r["panel"] + r["call"] for r in self.rounds])

    @property
    def ratio(self) -> float:
        return median([(r["panel"] + r["call"]) / r["bare"] for r in self.rounds])


async def measure(name: str, pids: dict[str, int], rounds: int, seconds: float) -> Phase:
    per_round, kinds = [], []
    for n in range(rounds):
        note(f"cpu: {name}, round {n + 1} of {rounds} ({seconds:g} s)")
        before = {k: thread_cpu(pid) for k, pid in pids.items()}
        totals = {k: process_cpu(pid) for k, pid in pids.items()}
        start = time.monotonic()
        await asyncio.sleep(seconds)
        spent = {k: _by_kind(pid, before[k]) for k, pid in pids.items()}
        totals = {k: process_cpu(pid) - totals[k] for k, pid in pids.items()}
        per_minute = 60 / (time.monotonic() - start)
        per_round.append({k: totals[k] * per_minute for k in pids})  # ended threads too
        kinds.append({k: {kind: v * per_minute for kind, v in spent[k].items()} for k in pids})
    rss = {k: rss_mib(pid) for k, pid in pids.items()}
    return Phase(name, per_round, kinds, rss, load_average())


async def _playback_floor() -> asyncio.subprocess.Process:
    """`bench.playback_floor`, once its stream is playing."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "bench.playback_floor",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=REPO_ROOT,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    if not line.startswith(b"playing"):
        proc.kill()
        await proc.wait()
        raise RuntimeError("bench.playback_floor could not open the audio output")
    return proc


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
                    muted = await measure("muted", {**pids, "bare": bare.pid}, rounds, seconds)
                finally:
                    await bare.stop()
                mark = term.length
                term.type(b"l")
                await term.wait_for(b"listening", since=mark, timeout=15)
                bare = await BareSubscriber.start(stack, conversation, read_audio=True)
                floor = await _playback_floor()
                try:
                    await asyncio.sleep(SETTLE)
                    listening = await measure(
                        "listening", {**pids, "bare": bare.pid, "floor": floor.pid}, rounds, seconds
                    )
                finally:
                    await stop_child(floor)
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
    muted, listening = phases
    floor = listening.per_minute("floor")
    with_floor = median(
        [(r["panel"] + r["call"]) / (r["bare"] + r["floor"]) for r in listening.rounds]
    )
    lines += [
        "",
        f"While listening, a process that only plays silence to the same device "
        f"(`bench.playback_floor`) took {floor:.2f} CPU s/min; the bare subscriber reading "
        f"audio plus it: {listening.per_minute('bare') + floor:.2f}, and ours against that: "
        f"{with_floor:.2f}x.",
        "",
        "By thread, CPU s/min (medians over the rounds):",
        "",
        "| phase | process | " + " | ".join(KIND_NAMES[k] for k in KINDS) + " |",
        "|---|---|" + "---|" * len(KINDS),
    ]
    for p in phases:
        for name in PER_THREAD:
            if p.kinds and name in p.kinds[0]:
                cells = " | ".join(f"{p.per_kind(name, k):.2f}" for k in KINDS)
                lines.append(f"| {p.name} | {name} | {cells} |")
    report.section("2, 3. CPU while watching a call", lines)
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
            f"{listening.ratio:.2f}x ({with_floor:.2f}x bare + playing silence)",
            listening.ratio <= 1.3,
        ),
    )

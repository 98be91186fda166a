"""Start: `snoop-tui watch ID` from process start to first paint and to LIVE: item 7.

Each run is a new `python -m snoop_tui watch ID` (the guard, which starts the panel,
which starts the call process) on a real pseudo-terminal of 100 x 30, on the demo's
simulated call talking in its room. A thread reads the terminal and timestamps each
read, so each moment is when the bytes reached the terminal:

- terminal taken: the alternate screen switched on (`ESC [?1049h`);
- first paint: the first frame's text (the call details line, "Conversation ..."),
  which the panel draws before Textual has loaded (`snoop_tui/first_frame.py`);
- whole panel: Textual's first frame, the one with the controls ("Stop");
- LIVE: the badge's text "LIVE".

Beside each moment, the CPU time spent to reach it: when LIVE is seen, the user plus
system CPU of the guard, the panel and the call process together; when the bare
subscriber has subscribed, its own. (On this machine's 2 cores, no arrangement of the
work can show LIVE sooner than half of that CPU time.)

The floor is `bench.bare_subscriber` from process start to connected and to its first
audio track subscribed (it prints the moments on the shared monotonic clock). Runs of
the two alternate, after one warm-up of each that is not counted; every run is a new
process (the file cache is warm, as it is for a supervisor's second call).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.common import (
    PYTHON,
    BareSubscriber,
    BenchStack,
    children,
    median,
    percentile,
    process_cpu,
    talking_call,
)
from bench.report import Report, Row, ms, note
from bench.terminal import Terminal

ALT_SCREEN = b"\x1b[?1049h"
FIRST_FRAME = b"Conversation"
WHOLE_PANEL = b"Stop"
LIVE = b"LIVE"


@dataclass
class Start:
    taken: float
    painted: float
    whole: float
    live: float
    cpu: list[float]
    """CPU seconds of the guard, the panel and the call process when LIVE was seen."""


def lineage_cpu(pid: int) -> list[float]:
    """CPU seconds of a process, its first child, that one's first child, and so on."""
    found = [process_cpu(pid)]
    while kids := children(pid):
        pid = kids[0]
        found.append(process_cpu(pid))
    return found


async def _ours(stack: BenchStack, conversation: str) -> Start:
    term = Terminal([PYTHON, "-m", "snoop_tui", "watch", conversation], stack.env())
    try:
        taken = await term.wait_for(ALT_SCREEN, timeout=30)
        painted = await term.wait_for(FIRST_FRAME, since=taken.end, timeout=30)
        whole = await term.wait_for(WHOLE_PANEL, since=taken.end, timeout=30)
        live = await term.wait_for(LIVE, since=taken.end, timeout=30)
        cpu = lineage_cpu(term.pid)  # the guard, the panel, the call process
    finally:
        await term.close()
    t0 = term.started
    return Start(taken.at - t0, painted.at - t0, whole.at - t0, live.at - t0, cpu)


async def _bare(stack: BenchStack, conversation: str) -> tuple[float, float, float]:
    bare = await BareSubscriber.start(stack, conversation)
    cpu = process_cpu(bare.pid)
    await bare.stop()
    return bare.since_start("connected"), bare.since_start("subscribed"), cpu


async def start(stack: BenchStack, runs: int, report: Report) -> None:
    conversation, room = stack.conversation("start")
    ours: list[Start] = []
    bare: list[tuple[float, float, float]] = []
    async with talking_call(stack, room):
        for n in range(1 + runs):
            note(f"start: run {n} of {runs}" + (" (warm-up)" if n == 0 else ""))
            one, base = await _ours(stack, conversation), await _bare(stack, conversation)
            if n:
                ours.append(one)
                bare.append(base)

    def row(name: str, values: list[float]) -> str:
        return (
            f"| {name} | {ms(median(values))} | {ms(min(values))} | "
            f"{ms(percentile(values, 90))} | {ms(max(values))} |"
        )

    lines = [
        f"{runs} runs each, alternating, after one warm-up of each; ms from process start "
        "(the two CPU rows: ms of CPU time).",
        "",
        "| moment | median ms | min ms | p90 ms | max ms |",
        "|---|---|---|---|---|",
        row("snoop-tui watch: terminal taken (alternate screen)", [s.taken for s in ours]),
        row("snoop-tui watch: first paint", [s.painted for s in ours]),
        row("snoop-tui watch: whole panel (Textual's first frame)", [s.whole for s in ours]),
        row("snoop-tui watch: LIVE on screen", [s.live for s in ours]),
        row("bare subscriber: connected", [b[0] for b in bare]),
        row("bare subscriber: first audio track subscribed", [b[1] for b in bare]),
        row("snoop-tui watch: CPU time at LIVE, all three processes", [sum(s.cpu) for s in ours]),
        row("snoop-tui watch: CPU time at LIVE, the guard", [s.cpu[0] for s in ours]),
        row("snoop-tui watch: CPU time at LIVE, the panel", [s.cpu[1] for s in ours]),
        row("snoop-tui watch: CPU time at LIVE, the call process", [s.cpu[2] for s in ours]),
        row("bare subscriber: CPU time at subscribed", [b[2] for b in bare]),
    ]
    report.section("7. Start", lines)
    painted = median([s.painted for s in ours])
    live = median([s.live for s in ours])
    floor = median([b[1] for b in bare])
    report.add(
        Row(
            "7a. start -> first paint (snoop-tui watch, pty)",
            f"{ms(painted)} ms",
            "<= 300 ms",
            "",
            painted <= 0.300,
        ),
        Row(
            "7b. start -> LIVE on screen, vs bare start -> subscribed",
            f"{ms(live)} ms vs {ms(floor)} ms",
            "<= 1.3x bare",
            f"{live / floor:.2f}x",
            live / floor <= 1.3,
        ),
    )

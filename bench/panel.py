"""The panel under a long and a busy transcript: items 4 to 6 of `python -m bench`.

Each measurement opens the instrumented panel (`bench.panel_host`) on a silent call of
its own and talks through a `Feeder` in the room; see `bench.panel_session`.

- scaling: with 100 / 1,000 / 5,000 / 10,000 finals shown, a new final's way to the
  screen (app: the event read from the call process's pipe -> the first frame handed
  to the terminal that shows it; end to end: the feeder starts sending -> that frame),
  key -> screen (`+`/`-` typed into the pty -> the first frame whose activity line
  shows the new volume), and the RSS of the panel process and of its call process.
- burst: 1,000 finals sent evenly over 5 s on a call that already has 0 / 5,000 /
  9,000: from the first sent to the frame that shows the last one.
- flood: 200 interim updates a second over ~5 open segments for 10 s, with ~700 and
  ~1,700 lines above: key -> screen during the flood, and from the last update sent
  to the frame that shows it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench.common import BenchStack, median, percentile
from bench.feeder import InterimFlood, sentence
from bench.panel_session import PanelSession, gaps
from bench.report import Report, Row, ms, note

WARM_UP = 3
"""Probes and key presses at the start of each size that are not counted."""
FINAL_GRACE = 0.5
"""Seconds a probe's final version gets to be repainted after its first version showed."""


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    probes: int
    presses: int
    burst_sizes: tuple[int, ...]
    flood_lines: tuple[int, ...]
    flood_seconds: float


FULL = Plan((100, 1_000, 5_000, 10_000), 20, 40, (0, 5_000, 9_000), (700, 1_700), 10.0)
QUICK = Plan((100, 1_000), 8, 12, (0, 1_000), (200, 700), 4.0)


def _p(values: list[float], q: float) -> str:
    return ms(percentile(values, q)) if values else "-"


# -- 4. scaling ------------------------------------------------------------------------


@dataclass
class SizeResult:
    finals: int
    lines: int
    fed_per_s: float
    app: list[float]
    e2e: list[float]
    finals_painted: int
    """Probes whose final version (after the interim one) was repainted within FINAL_GRACE."""
    keys: list[float]
    keys_lost: int
    rss_panel: float
    rss_call: float


async def _at_size(session: PanelSession, size: int, plan: Plan) -> SizeResult:
    assert session.feeder is not None
    rate = await session.preload(size)
    await session.settle(1.5)
    finals, lines = session.reports.finals, session.reports.lines
    pause = gaps(0.15, 0.35)
    app: list[float] = []
    e2e: list[float] = []
    finals_painted = 0
    for n in range(WARM_UP + plan.probes):
        mark = session.marker("Q")
        sent = await session.feeder.final(f"{mark} {sentence(n)}", session.feeder.speakers[n % 2])
        painted = await session.wait_painted(mark)
        try:
            await session.wait_painted(mark, timeout=FINAL_GRACE, final=True)
            final = True
        except TimeoutError:
            final = False
        if n >= WARM_UP:
            app.append(painted - session.reports.arrivals[mark])
            e2e.append(painted - sent)
            finals_painted += final
        await asyncio.sleep(pause())
    keys: list[float] = []
    lost = 0
    for n in range(WARM_UP + plan.presses):
        latency = await session.key_to_screen()
        if n >= WARM_UP:
            if latency is None:
                lost += 1
            else:
                keys.append(latency)
        await asyncio.sleep(pause())
    panel_rss, call_rss = session.rss()
    return SizeResult(
        finals, lines, rate, app, e2e, finals_painted, keys, lost, panel_rss, call_rss
    )


async def scaling(stack: BenchStack, plan: Plan, report: Report) -> None:
    results: list[SizeResult] = []
    async with PanelSession(stack, "scaling") as session:
        for size in plan.sizes:
            note(f"scaling: {size} finals")
            results.append(await _at_size(session, size, plan))
    lines = [
        f"{plan.probes} new finals and {plan.presses} key presses per size (after {WARM_UP} "
        "of each not counted), 0.15 to 0.35 s apart; terminal 100 x 30.",
        "",
        "| finals shown | transcript lines | fed at (finals/s) | new final -> frame, app "
        "p50 / p95 ms | sent -> frame, end to end p50 / p95 ms | final version repainted "
        "| key -> screen p50 / p95 ms | keys not shown | RSS panel MiB | RSS call process MiB "
        "| RSS total MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.finals:,} | {r.lines:,} | {r.fed_per_s:.0f} | {_p(r.app, 50)} / "
            f"{_p(r.app, 95)} | {_p(r.e2e, 50)} / {_p(r.e2e, 95)} | "
            f"{r.finals_painted} of {len(r.app)} | {_p(r.keys, 50)} / "
            f"{_p(r.keys, 95)} | {r.keys_lost} | {r.rss_panel:.1f} | {r.rss_call:.1f} | "
            f"{r.rss_panel + r.rss_call:.1f} |"
        )
    report.section("4. Transcript scaling in the panel", lines)
    first, last = results[0], results[-1]
    append_ratio = median(last.app) / median(first.app)
    key_p95 = percentile(last.keys, 95) if last.keys else float("inf")
    rss = last.rss_panel + last.rss_call
    report.add(
        Row(
            f"4a. new final -> next frame, {last.finals:,} vs {first.finals:,} shown",
            f"p50 {ms(median(last.app))} ms vs {ms(median(first.app))} ms",
            "within 2x",
            f"{append_ratio:.2f}x",
            append_ratio <= 2.0,
        ),
        Row(
            f"4b. key -> screen, {last.finals:,} shown",
            f"p95 {ms(key_p95)} ms (p50 {_p(last.keys, 50)})"
            + (f", {last.keys_lost} not shown" if last.keys_lost else ""),
            "p95 <= 50 ms",
            "",
            key_p95 <= 0.050 and not last.keys_lost,
        ),
        Row(
            f"4c. RSS, {last.finals:,} shown",
            f"{rss:.0f} MiB (panel {last.rss_panel:.0f} + call {last.rss_call:.0f})",
            "<= 150 MiB",
            "",
            rss <= 150,
        ),
    )


# -- 5. a burst of finals --------------------------------------------------------------


@dataclass
class BurstResult:
    before: int
    send_seconds: float
    to_screen: float | None
    """From the first sent to the frame that shows the last; None if it never showed."""
    after_last: float | None
    applied: float | None
    """From the first sent to the panel having applied the last (shown or not)."""
    shown: int


async def _burst(session: PanelSession, count: int = 1_000, seconds: float = 5.0) -> BurstResult:
    assert session.feeder is not None
    before = session.reports.finals
    marks = [session.marker("B") for _ in range(count)]
    start = time.monotonic()
    last_sent = start
    for n, mark in enumerate(marks):
        delay = start + n * seconds / count - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        last_sent = await session.feeder.final(
            f"{mark} {sentence(n)}", session.feeder.speakers[n % 2]
        )
    send_seconds = time.monotonic() - start
    last = marks[-1]
    painted: float | None
    try:
        painted = await session.wait_painted(last, timeout=20)
    except TimeoutError:
        painted = None
    applied = session.reports.shown.get(last)
    await asyncio.sleep(0.5)  # the last status report
    return BurstResult(
        before,
        send_seconds,
        None if painted is None else painted - start,
        None if painted is None else painted - last_sent,
        None if applied is None else applied - start,
        session.reports.finals - before,
    )


async def burst(stack: BenchStack, plan: Plan, report: Report) -> None:
    results: list[BurstResult] = []
    async with PanelSession(stack, "burst") as session:
        for size in plan.burst_sizes:
            note(f"burst: 1,000 finals on {size}")
            await session.preload(size)
            await session.settle(1.5)
            results.append(await _burst(session))

    def secs(value: float | None) -> str:
        return "never" if value is None else f"{value:.2f}"

    def outcome(r: BurstResult) -> str:
        if r.to_screen is not None:
            return f"{r.to_screen:.2f} s"
        return f"never on screen (applied after {secs(r.applied)} s; the view stopped following)"

    lines = [
        "1,000 final segments, one stream each, sent evenly over 5 s by one sender.",
        "",
        "| finals already shown | sending took s | first sent -> last on screen s | last sent "
        "-> on screen ms | first sent -> last applied s | finals shown of 1,000 |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        after = "never" if r.after_last is None else ms(r.after_last)
        lines.append(
            f"| {r.before:,} | {r.send_seconds:.2f} | {secs(r.to_screen)} | {after} | "
            f"{secs(r.applied)} | {r.shown:,} |"
        )
    report.section("5. A burst of 1,000 finals", lines)
    times = [r.to_screen for r in results]
    worst = max((t for t in times if t is not None), default=float("inf"))
    report.add(
        Row(
            "5. 1,000 finals sent in 5 s -> all on screen, at "
            + " / ".join(f"{r.before:,}" for r in results),
            " / ".join(outcome(r) for r in results),
            "<= 6 s at any length",
            "",
            None not in times and worst <= 6.0 and all(r.shown == 1_000 for r in results),
        )
    )


# -- 6. an interim flood ---------------------------------------------------------------


@dataclass
class FloodResult:
    lines: int
    sent: int
    seconds: float
    keys: list[float]
    lost: int
    lag: float | None


async def _flood(session: PanelSession, seconds: float, rate: float = 200.0) -> FloodResult:
    assert session.feeder is not None
    lines = session.reports.lines
    flood = InterimFlood(session.feeder, rate=rate, slots=5, per_segment=40)
    mark = session.marker("E")
    keys: list[float] = []
    lost = 0
    flooding = True
    pause = gaps(0.1, 0.25)

    async def press() -> None:
        nonlocal lost
        await asyncio.sleep(0.5)  # the flood has started
        while flooding:
            latency = await session.key_to_screen(timeout=5.0)
            if latency is None:
                lost += 1
            else:
                keys.append(latency)
            await asyncio.sleep(pause())

    presser = asyncio.create_task(press())
    start = time.monotonic()
    try:
        last_sent = await flood.run(seconds, mark)
    finally:
        flooding = False
    took = time.monotonic() - start
    lag: float | None
    try:
        lag = await session.wait_painted(mark, timeout=60) - last_sent
    except TimeoutError:
        lag = None
    await presser
    return FloodResult(lines, flood.sent, took, keys, lost, lag)


async def flood(stack: BenchStack, plan: Plan, report: Report) -> None:
    results: list[FloodResult] = []
    async with PanelSession(stack, "flood") as session:
        for target in plan.flood_lines:
            note(f"flood: at ~{target} lines")
            # Each preloaded final is one line at 100 columns.
            need = target - session.reports.lines
            await session.preload(session.reports.finals + max(0, need))
            await session.settle(1.5)
            results.append(await _flood(session, plan.flood_seconds))
            await session.settle(2.0)
    lines = [
        f"200 interim updates a second for {plan.flood_seconds:g} s: 5 segments open at a time, "
        "each one stream growing a word per update (LiveKit Agents' agent-side shape), "
        "closed as final after 40 updates and replaced; keys typed every 0.1 to 0.25 s "
        "during the flood.",
        "",
        "| transcript lines before | interim updates sent | over s | key -> screen p50 / p95 "
        "ms | presses | not shown | last update sent -> on screen ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lag = "never" if r.lag is None else ms(r.lag)
        lines.append(
            f"| {r.lines:,} | {r.sent:,} | {r.seconds:.1f} | {_p(r.keys, 50)} / "
            f"{_p(r.keys, 95)} | {len(r.keys) + r.lost} | {r.lost} | {lag} |"
        )
    report.section("6. Interim flood", lines)
    p95s = [percentile(r.keys, 95) if r.keys else float("inf") for r in results]
    report.add(
        Row(
            "6a. key -> screen during a 200/s interim flood, at "
            + " / ".join(f"{r.lines:,}" for r in results)
            + " lines",
            "p95 "
            + " / ".join(ms(p) for p in p95s)
            + " ms (p50 "
            + " / ".join(_p(r.keys, 50) for r in results)
            + ")",
            "p95 <= 50 ms",
            "",
            max(p95s) <= 0.050 and not any(r.lost for r in results),
        ),
        Row(
            "6b. behind when the flood stops (last update sent -> on screen)",
            " / ".join("never" if r.lag is None else ms(r.lag) for r in results) + " ms",
            "(none set)",
            "",
            None,
        ),
    )

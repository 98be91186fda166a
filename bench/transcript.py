"""The transcript view at the length of a long call: append, search, memory, keys in a flood.

In-process (headless Textual, the real panel on a scripted call), so it measures the
view and its model alone, not the network:

- append: one new final segment shown (the model, the view's offsets and the frame),
  with 100 and with 10,000 segments already there;
- search: `/` over 10,000 segments (the count and the highlights' first frame);
- memory: what 10,000 segments add to the process (tracemalloc, Python objects);
- keys in a flood: 200 interim updates a second spread over 5 segments at 10,000
  lines, and a key (`+`, the activity line) timed from its action to the end of the
  frame that shows it (Textual sends that frame at its next tick, within 1/60 s).

    .venv/bin/python -m bench.transcript
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from snoop_tui.app import SnoopApp  # noqa: E402
from snoop_tui.events import CallState, StateChanged, TranscriptUpdated  # noqa: E402
from snoop_tui.transcript import Role, Transcript  # noqa: E402
from tests.panel_states import ScriptedCall, settle  # noqa: E402

WORDS = "the meter reading for March was estimated so the bill is higher than usual".split()


def _said(
    model: Transcript, n: int, final: bool = True, text: str | None = None
) -> TranscriptUpdated:
    role = Role.AGENT if n % 2 else Role.CALLER
    words = text or " ".join(WORDS[(n + i) % len(WORDS)] for i in range(8 + n % 9))
    segment = model.update(
        f"seg-{n}",
        role=role,
        speaker=role.label,
        text=words,
        final=final,
        spoken_at=1_700_000_000_000 + n * 3000,
    )
    assert segment is not None
    return TranscriptUpdated(segment)


def ms(samples: list[float]) -> str:
    ordered = sorted(s * 1000 for s in samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.2f} | {p95:.2f}"


async def append_cost(count: int, rounds: int = 50) -> list[float]:
    app: SnoopApp[ScriptedCall] = SnoopApp(
        "conv_bench", ScriptedCall([StateChanged(CallState.LIVE)])
    )
    model = Transcript()
    samples = []
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        pane = app.panel.pane
        for n in range(count):
            pane.show_segment(_said(model, n).segment)
        await settle(pilot)
        screen = app.screen
        for n in range(count, count + rounds):
            event = _said(model, n)
            began = time.perf_counter()
            pane.show_segment(event.segment)
            screen._compositor_refresh()
            samples.append(time.perf_counter() - began)
            await pilot.pause()
    return samples


async def search_and_flood(count: int = 10_000) -> tuple[list[float], list[float], float]:
    app: SnoopApp[ScriptedCall] = SnoopApp(
        "conv_bench", ScriptedCall([StateChanged(CallState.LIVE)])
    )
    model = Transcript()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        pane, view, screen = app.panel.pane, app.panel.transcript, app.screen
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for n in range(count):
            pane.show_segment(_said(model, n).segment)
        await settle(pilot)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = sum(s.size_diff for s in after.compare_to(before, "filename")) / 2**20
        searches = []
        for word in ("estimated", "March", "higher", "nothing-like-this"):
            began = time.perf_counter()
            view.search(word)
            screen._compositor_refresh()
            searches.append(time.perf_counter() - began)
        view.search("")
        keys = []
        stop = time.monotonic() + 10
        n = 0
        live = [count + k for k in range(5)]
        while time.monotonic() < stop:
            for _ in range(4):  # 200 a second: 4 updates every 20 ms
                seg = live[n % 5]
                text = " ".join(WORDS[: 2 + (n // 5) % 12])
                pane.show_segment(_said(model, seg, final=False, text=text).segment)
                n += 1
            if n % 20 == 0:
                began = time.perf_counter()
                await app.panel.action_volume(1 if n % 40 else -1)
                await asyncio.sleep(0)
                screen._compositor_refresh()
                keys.append(time.perf_counter() - began)
            await asyncio.sleep(0.02)
    return searches, keys, grown


async def main() -> None:
    short = await append_cost(100)
    long = await append_cost(10_000)
    searches, keys, grown = await search_and_flood()
    print("| measure | median ms | p95 ms |")
    print("|---|---|---|")
    print(f"| one new final segment, 100 already shown | {ms(short)} |")
    print(f"| one new final segment, 10,000 already shown | {ms(long)} |")
    print(f"| search over 10,000 segments (count + first frame) | {ms(searches)} |")
    print(f"| key → frame during 200 interim updates/s, 10,000 lines | {ms(keys)} |")
    ratio = statistics.median(long) / statistics.median(short)
    print(f"\nappend at 10,000 / at 100: {ratio:.2f}×")
    print(f"memory added by 10,000 segments: {grown:.1f} MiB")


if __name__ == "__main__":
    asyncio.run(main())

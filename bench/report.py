"""The benchmark's output: detail sections as they finish, then one summary table.

Sections go to stdout as soon as each measurement ends (a long run shows progress
and keeps what it measured if a later part fails); progress notes go to stderr.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    """One line of the summary: what, the figure now, the goal, the ratio, met or not."""

    item: str
    now: str
    goal: str
    ratio: str = ""
    met: bool | None = None

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**missed**", None: ""}[self.met]


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def section(self, title: str, lines: list[str]) -> None:
        print(f"\n## {title}\n", flush=True)
        print("\n".join(lines), flush=True)

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)

    def failed(self, name: str, error: BaseException) -> None:
        self.failures.append(f"{name}: {type(error).__name__}: {error}")
        print(f"\n{name} failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)

    def summary(self) -> list[str]:
        lines = ["| measurement | now | goal | ratio | |", "|---|---|---|---|---|"]
        rows = sorted(self.rows, key=_number)
        lines += [f"| {r.item} | {r.now} | {r.goal} | {r.ratio} | {r.verdict} |" for r in rows]
        if self.failures:
            lines += ["", "Not measured in this run:", ""]
            lines += [f"- {failure}" for failure in self.failures]
        return lines


def _number(row: Row) -> int:
    """Rows in the order of the list they answer ("4b. ..." after "3. ..."), others last."""
    found = re.match(r"\d+", row.item)
    return int(found.group()) if found else 99


def note(text: str) -> None:
    """Progress, on stderr."""
    print(f"bench: {text}", file=sys.stderr, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"

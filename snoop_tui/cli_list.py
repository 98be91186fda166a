"""`snoop-tui list`: the live calls as a table or JSON lines, from the platform alone
(no Textual, no LiveKit); and how every command that prints lets its reader go early."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from snoop_tui.board_model import ConversationSummary, time_into_call
from snoop_tui.settings import load_settings

LIST_COLUMNS = ("ID", "STATUS", "AGENT", "CALLER", "NUMBER", "CHANNEL", "DIRECTION", "TIME")


def list_calls(args: argparse.Namespace) -> int:
    """`snoop-tui list`: the live calls, from the platform only (no Textual, no LiveKit)."""
    import asyncio
    import json

    from snoop_tui.platform import PlatformClient

    overrides = {"api_url": args.api_url, "org": args.org, "request_timeout": args.timeout}
    settings = load_settings(overrides)
    settings.require_credential()

    async def fetch() -> list[ConversationSummary]:
        async with PlatformClient(settings) as client:
            return await client.list_live_conversations()

    calls = asyncio.run(fetch())
    now = datetime.now(UTC)
    if args.json:
        lines = [json.dumps(call_record(call, now)) for call in calls]
    else:
        lines = call_table(calls, now)
        if not calls:
            print("No live calls right now.", file=sys.stderr)
    with stdout_may_close():
        for line in lines:
            print(line)
    return 0


def call_record(call: ConversationSummary, now: datetime) -> dict[str, Any]:
    """One call for `list --json`: always these keys, null when the platform did not say."""
    elapsed = (
        None if call.created_at is None else max(0, int((now - call.created_at).total_seconds()))
    )
    return {
        "id": call.id,
        "status": call.status,
        "agent": call.agent_name,
        "agent_id": call.agent_id,
        "caller": call.caller,
        "number": call.agent_number,
        "channel": call.channel,
        "direction": call.direction,
        "created_at": call.created_at.isoformat() if call.created_at else None,
        "seconds_into_call": elapsed,
        "time_into_call": time_into_call(call.created_at, now),
        "duration": call.duration,
        "listenable": call.listenable,
        "not_listenable_reason": call.not_listenable_reason,
    }


def call_table(calls: Sequence[ConversationSummary], now: datetime) -> list[str]:
    """A plain table: one header, one line per call, columns two spaces apart, "-" for
    what the platform did not say."""
    if not calls:
        return []
    rows = [LIST_COLUMNS] + [
        tuple(
            value or "-"
            for value in (
                call.id,
                call.status,
                call.agent_name,
                call.caller,
                call.agent_number,
                call.channel,
                call.direction,
                time_into_call(call.created_at, now),
            )
        )
        for call in calls
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(LIST_COLUMNS))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


@contextlib.contextmanager
def stdout_may_close() -> Iterator[None]:
    """`snoop-tui list | head -1`: a reader that has what it wanted is no failure."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

"""The panel process with a stopwatch: the product's app, plus timestamps on a side pipe.

`python -m bench` runs this in a real pseudo-terminal instead of `snoop-tui watch`'s
panel process when it needs the app's own timing. It builds the app with
`snoop_tui.launch.make_app` (the CLI's factory; the call runs in its own call
process, as in the product) and runs it with Textual's real Linux driver. Three
observers, each wrapping a product or Textual callable in this process only and
calling the original unchanged, report JSON lines with `time.monotonic()` (the
system-wide monotonic clock, comparable with the benchmark's) on `--report-fd`:

- `arrive`: a call event carrying a marker (`[QBE]` + 6 digits + `Z` in its text) or a
  state change reaches Textual: the moment the panel process, having read the event
  from the call process's pipe, wraps it in a `CallEventMessage` to post it;
- `shown`: the panel's `show_segment` has applied a segment carrying a marker;
- `paint`: the driver was handed a frame (`Driver.write`, what `App._display` calls
  after composing the screen's update) whose text holds markers or the activity
  line's volume; the frame reaches the terminal through Textual's writer thread.

A paint that contains a marker and comes after its `shown` is the first frame that
shows that version of the segment. Every 0.2 s a `status` line gives the count of
final segments shown, the transcript's height in lines and whether it follows new lines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import threading
import time
from typing import Any, TextIO

from textual.drivers.linux_driver import LinuxDriver

from snoop_tui.app import SnoopApp
from snoop_tui.events import CallEvent, StateChanged, TranscriptUpdated
from snoop_tui.launch import make_app
from snoop_tui.messages import CallEventMessage
from snoop_tui.process_call import CallProcess
from snoop_tui.settings import Secret, Settings
from snoop_tui.transcript import TranscriptSegment

MARK = re.compile(r"[QBE]\d{6}Z")
VOLUME = re.compile(r"(?:muted|listening|volume)(?:\x1b\[[0-9;]*m| |\u00b7)*(\d{1,3})%")
"""The activity line's volume, styles and all, as the driver gets it: "Audio muted 110%"
or "Audio muted · volume 110%" (shown only when it is not 100% while muted)."""


class Reporter:
    """JSON lines to the benchmark, from any thread."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._lock = threading.Lock()

    def __call__(self, kind: str, **fields: Any) -> None:
        line = json.dumps({"k": kind, "t": time.monotonic(), **fields})
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()


def reporting_driver(report: Reporter) -> type[LinuxDriver]:
    class ReportingDriver(LinuxDriver):
        def write(self, data: str) -> None:
            at = time.monotonic()
            super().write(data)
            marks = MARK.findall(data)
            volumes = VOLUME.findall(data)
            if marks or volumes:
                report("paint", paint_t=at, marks=marks, volumes=[int(v) for v in volumes])

    return ReportingDriver


def instrument(app: SnoopApp[CallProcess], report: Reporter) -> None:
    """Wrap `CallEventMessage.__init__`, the panel's `show_segment` and the driver's
    `write` with observers; each still does exactly what it did."""
    message_init = CallEventMessage.__init__
    show_segment = app.panel.show_segment
    finals: set[tuple[str, str]] = set()
    status_started = False

    def observed_message(message: CallEventMessage, event: CallEvent) -> None:
        nonlocal status_started
        message_init(message, event)
        if isinstance(event, TranscriptUpdated):
            marks = MARK.findall(event.segment.text)
            if marks:
                report("arrive", marks=marks, final=event.segment.final)
        elif isinstance(event, StateChanged):
            report("state", state=event.state.value)
            if not status_started:  # on the app's loop now: start the status reports
                status_started = True
                asyncio.get_running_loop().create_task(status())

    def observed_show(segment: TranscriptSegment) -> None:
        show_segment(segment)
        if segment.final:
            finals.add(segment.key)
        marks = MARK.findall(segment.text)
        if marks:
            report("shown", marks=marks, final=segment.final)

    async def status() -> None:
        while True:
            view = app.panel.transcript
            report(
                "status",
                finals=len(finals),
                lines=view.virtual_size.height,
                following=view.following,
            )
            await asyncio.sleep(0.2)

    CallEventMessage.__init__ = observed_message  # type: ignore[method-assign,assignment]
    app.panel.show_segment = observed_show  # type: ignore[method-assign]
    app.driver_class = reporting_driver(report)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--conversation", required=True)
    parser.add_argument("--credential", default="ak_demo_sensitive")
    parser.add_argument("--report-fd", type=int, required=True)
    args = parser.parse_args()
    report = Reporter(os.fdopen(args.report_fd, "w", encoding="utf-8"))
    settings = Settings(api_url=args.api_url, credential=Secret(args.credential))
    app = make_app(settings, args.conversation, handle_signals=True)
    instrument(app, report)
    app.run()
    report("exit", code=app.return_code or 0)
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())

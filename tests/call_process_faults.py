"""A call process that misbehaves on purpose, for the isolation tests.

Run as `python -m tests.call_process_faults MODE --commands-fd N ...` in place of
`snoop_tui.call_process`. Real crashes (SIGABRT, SIGSEGV, SIGKILL) are sent to the
real call process by the tests; what a real part cannot produce on demand is made here:
- `raise-on-focus`: a bug (a Python exception) in the call process when `f` is pressed;
- `garbage-first`: lines the panel cannot understand (truncated, unknown type, newer
  protocol version, over-long), written before the real events.
"""

from __future__ import annotations

import os
import sys

from snoop_tui import call_process
from snoop_tui.local_call import InProcessCall

GARBAGE = (
    b'{"v": 1, "type": "state", "sta\n',
    b'{"v": 1, "type": "hologram", "colour": "teal"}\n',
    b'{"v": 2, "type": "state", "state": "ended", "reason": "from the future"}\n',
    b'{"v": 1, "type": "segment", "id": "broken"}\n',
    b"\xff\xfe\x00 not even text\n",
    b'{"v": 1, "type": "notice", "text": "' + b"x" * 200_000 + b'"}\n',
)


async def _buggy_focus(self: InProcessCall) -> None:
    raise RuntimeError("a bug in the call process")


def main() -> int:
    mode, argv = sys.argv[1], sys.argv[2:]
    if mode == "raise-on-focus":
        InProcessCall.cycle_focus = _buggy_focus  # type: ignore[method-assign]
    elif mode == "garbage-first":
        events_fd = int(argv[argv.index("--events-fd") + 1])
        for line in GARBAGE:
            os.write(events_fd, line)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    return call_process.main(argv)


if __name__ == "__main__":
    sys.exit(main())

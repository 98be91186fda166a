"""`python -m snoop_tui.demo`: run the local stack alone, for a panel started elsewhere."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from snoop_tui.demo.stack import LocalStack


async def _serve(loops: int | None, words_per_second: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with LocalStack(loops=loops, words_per_second=words_per_second) as stack:
        print("Local stack running on 127.0.0.1. In another terminal:")
        print(
            f"  ANYREACH_API_URL={stack.api_url} ANYREACH_TOKEN={stack.credential} "
            f"snoop-tui {stack.conversation_id}"
        )
        print(f"Logs: {stack.log_dir}")
        print("Press Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("Stopped.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m snoop_tui.demo",
        description="Run livekit-server, the local platform API and a simulated call.",
    )
    parser.add_argument(
        "--loops", type=int, help="play the call this many times (default: forever)"
    )
    parser.add_argument("--wps", type=float, default=4.0, help="words per second")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.loops, args.wps))
    return 0


if __name__ == "__main__":
    sys.exit(main())

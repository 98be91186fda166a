"""The floor: a plain LiveKit SDK subscriber on the same call, in a process of its own.

It asks the local platform API for a listener token (stdlib HTTP, one POST), joins
the room with `livekit.rtc` (auto-subscribe on), registers a handler for the
`lk.transcription` text streams that reads each stream to its end and throws the
text away, and, with `--read-audio`, reads every frame of every audio track through
`rtc.AudioStream` (48 kHz mono, the SDK's default; 10 ms frames unless `--frame-ms`
asks for longer ones) and throws it away; with `--no-audio`, it subscribes to no track at
all (auto-subscribe off: the transcription still comes, over the data channel). Nothing
else: no roles, no transcript model, no UI, no playback. `python -m bench` measures its CPU
and RSS like the panel's, and its start as "process start to subscribed".

It prints, each on a line of its own, `connected T`, `subscribed T` (the first audio
track subscribed; never with `--no-audio`) with T on the system's monotonic clock
(shared by every process, so the benchmark can subtract its own start time), then runs
until SIGTERM or until stdin closes; as it leaves, it prints `speaker_changes N`: how
many active-speaker updates the server sent it.

    python -m bench.bare_subscriber --api-url URL --conversation ID [--read-audio | --no-audio]
        [--frame-ms N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
import urllib.request
from typing import Any

from livekit import rtc

TRANSCRIPTION_TOPIC = "lk.transcription"


def listener_token(api_url: str, conversation_id: str, credential: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{api_url}/core/conversations/{conversation_id}/listener-token",
        data=b"{}",
        method="POST",
        headers={"Authorization": f"Bearer {credential}", "Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        body: dict[str, Any] = json.load(response)
    return body


def say(what: str) -> None:
    print(f"{what} {time.monotonic():.6f}", flush=True)


async def run(
    api_url: str,
    conversation_id: str,
    credential: str,
    read_audio: bool,
    frame_ms: int | None,
    subscribe: bool = True,
) -> None:
    grant = await asyncio.to_thread(listener_token, api_url, conversation_id, credential)
    room = rtc.Room()
    tasks: set[asyncio.Task[None]] = set()
    subscribed = asyncio.Event()

    def spawn(coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def discard_text(reader: rtc.TextStreamReader) -> None:
        try:
            await reader.read_all()
        except rtc.StreamError:
            pass

    async def discard_audio(track: rtc.RemoteAudioTrack) -> None:
        stream = rtc.AudioStream(track, frame_size_ms=frame_ms)
        try:
            async for _event in stream:
                pass
        finally:
            await stream.aclose()

    def on_text(reader: rtc.TextStreamReader, _identity: str) -> None:
        spawn(discard_text(reader))

    def on_track(track: rtc.Track, *_: object) -> None:
        if isinstance(track, rtc.RemoteAudioTrack):
            if not subscribed.is_set():
                say("subscribed")
                subscribed.set()
            if read_audio:
                spawn(discard_audio(track))

    room.register_text_stream_handler(TRANSCRIPTION_TOPIC, on_text)
    speaker_changes = 0

    def on_speakers(_speakers: list[rtc.Participant]) -> None:
        nonlocal speaker_changes
        speaker_changes += 1

    room.on("track_subscribed", on_track)
    room.on("active_speakers_changed", on_speakers)
    await room.connect(grant["url"], grant["token"], rtc.RoomOptions(auto_subscribe=subscribe))
    say("connected")

    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    loop.add_reader(sys.stdin.fileno(), lambda: done.set() if not sys.stdin.read(1) else None)
    await done.wait()
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(f"speaker_changes {speaker_changes}", flush=True)
    await room.disconnect()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--conversation", required=True)
    parser.add_argument("--credential", default="ak_demo_sensitive")
    audio = parser.add_mutually_exclusive_group()
    audio.add_argument("--read-audio", action="store_true", help="also read every audio frame")
    audio.add_argument("--no-audio", action="store_true", help="subscribe to no track")
    parser.add_argument(
        "--frame-ms", type=int, default=None, help="audio frame length (the SDK's default: 10)"
    )
    args = parser.parse_args()
    asyncio.run(
        run(
            args.api_url,
            args.conversation,
            args.credential,
            args.read_audio,
            args.frame_ms,
            subscribe=not args.no_audio,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Bad transcription from the room: shown safely and literally, and the panel keeps working.

The real app (Pilot) listens to a real room; a third participant (`Mischief`) sends what
a broken or hostile sender might, including text attributed to other identities.

Invalid UTF-8 cannot reach the panel as text: text-stream chunks are decoded by the
LiveKit SDK, which ends a stream whose bytes are not UTF-8 with a stream error (handled
like an aborted stream, tested below), and every other text field arrives as a protobuf
string. What can arrive is undecodable bytes as a byte stream or a raw data packet on
the transcription topic; the panel ignores both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from snoop_tui.app import SnoopApp
from snoop_tui.demo.call import SimulatedCall
from snoop_tui.session import CallState
from snoop_tui.settings import Settings
from snoop_tui.transcript import MAX_SEGMENT_CHARS, Role, TranscriptSegment
from snoop_tui.widgets.transcript_view import TranscriptView
from tests.live import SIZE, badge, in_process_app, running_call, wait_for
from tests.mischief import MARKUP_AND_ESCAPES, Mischief

WIDE = (160, 40)


@dataclass
class Watching:
    app: SnoopApp[Any]
    pilot: Any
    call: SimulatedCall
    mischief: Mischief

    @property
    def view(self) -> TranscriptView:
        return self.app.screen.query_one(TranscriptView)

    def segment(self, segment_id: str) -> TranscriptSegment | None:
        return next((s for s in self.view.segments() if s.id == segment_id), None)

    async def wait_final(self, segment_id: str, timeout: float = 20.0) -> TranscriptSegment:
        def done() -> bool:
            segment = self.segment(segment_id)
            return segment is not None and segment.final

        await wait_for(self.pilot, done, timeout=timeout, what=f"final {segment_id}")
        segment = self.segment(segment_id)
        assert segment is not None
        return segment

    def rendered(self, segment_id: str) -> str:
        """The characters the terminal is given for one transcript line."""
        return "\n".join(self.view.rendered(segment_id))


@contextlib.asynccontextmanager
async def watching(
    settings: Settings, server: Any, conversation: tuple[str, str], size: tuple[int, int] = SIZE
) -> AsyncIterator[Watching]:
    """The app LIVE on a held call (no scripted speech), with a misbehaving third participant."""
    async with running_call(server, conversation, end_by_agent_leaving=False) as live:
        app = in_process_app(settings, live.conversation_id)
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: badge(app).state is CallState.LIVE, what="LIVE")
            async with Mischief(
                server.url, server.api_key, server.api_secret, live.room_name
            ) as mischief:
                yield Watching(app, pilot, live.call, mischief)


async def test_markup_and_terminal_escapes_are_shown_literally(
    settings: Settings, livekit_server: Any, new_conversation: tuple[str, str]
) -> None:
    async with watching(settings, livekit_server, new_conversation, WIDE) as room:
        await room.mischief.send(MARKUP_AND_ESCAPES, segment_id="MARKUP")
        await room.wait_final("MARKUP")
        shown = room.rendered("MARKUP")
        assert "[red]x[/red]" in shown
        assert "[@click=app.quit]quit[/]" in shown
        assert "\x1b" not in shown and "\x07" not in shown
        assert "\u241b]52;c;ZXZpbA==\u2407" in shown  # ESC and BEL as visible symbols
        assert "\u241b[2J" in shown
        # Clicking the would-be link does nothing: it is text, not an action.
        column = shown.splitlines()[0].index("quit[/]")
        row = room.view.first_line_of("MARKUP") - room.view.scroll_offset.y
        content = room.view.content_region
        await room.pilot.click(offset=(content.x + column, content.y + row))
        await room.pilot.pause(0.2)
        assert room.app.is_running and room.app.return_code is None
        assert badge(room.app).state is CallState.LIVE


async def test_oversized_segment_is_cut_with_a_marker_and_the_panel_stays_responsive(
    settings: Settings, livekit_server: Any, new_conversation: tuple[str, str], null_sink: Any
) -> None:
    async with watching(settings, livekit_server, new_conversation) as room:
        huge = "word " * 24_000  # 120 KB in one stream
        sending = asyncio.create_task(room.mischief.send(huge, segment_id="HUGE"))
        await room.pilot.press("l")
        await wait_for(
            room.pilot,
            lambda: room.app.call.session is not None and room.app.call.session.listening,
        )
        await sending
        segment = await room.wait_final("HUGE")
        assert segment.text.endswith("…[cut]")
        assert len(segment.text) <= MAX_SEGMENT_CHARS + len(" …[cut]")
        assert segment.text.startswith("word word")
        await room.pilot.press("m")
        await wait_for(
            room.pilot,
            lambda: room.app.call.session is not None and not room.app.call.session.listening,
        )
        assert [s.id for s in room.view.segments()].count("HUGE") == 1


async def test_interim_flood_stays_responsive_and_shows_the_final_once(
    settings: Settings, livekit_server: Any, new_conversation: tuple[str, str], null_sink: Any
) -> None:
    async with watching(settings, livekit_server, new_conversation) as room:
        flood = asyncio.create_task(room.mischief.flood(segment_id="FLOOD", updates=2000))
        await wait_for(room.pilot, lambda: room.segment("FLOOD") is not None, what="the flood")
        await room.pilot.press("l")  # pressed while the updates pour in
        session = room.app.call.session
        assert session is not None
        await wait_for(room.pilot, lambda: session.listening, what="listen during the flood")
        assert not flood.done(), "the flood should still be running when the key is handled"
        final_text = await flood
        segment = await room.wait_final("FLOOD")
        assert segment.text == final_text.replace("\n", " ")
        assert [s.id for s in room.view.segments()] == ["FLOOD"]
        assert sum(line.endswith(final_text) for line in room.view.lines()) == 1
        await room.pilot.press("m")
        await wait_for(room.pilot, lambda: not session.listening, what="mute after the flood")


async def test_stream_without_attributes_and_aborted_stream_are_shown_once(
    settings: Settings, livekit_server: Any, new_conversation: tuple[str, str]
) -> None:
    async with watching(settings, livekit_server, new_conversation) as room:
        await room.mischief.send_without_attributes("no id at all")
        await room.mischief.send_aborted("cut off mid", segment_id="ABORTED")
        await room.mischief.send("still here", segment_id="AFTER")
        await room.wait_final("AFTER")
        await room.pilot.pause(0.2)
        texts = [s.text for s in room.view.segments()]
        assert texts.count("no id at all") == 1
        aborted = room.segment("ABORTED")
        assert aborted is not None and aborted.text == "cut off mid" and not aborted.final
        assert badge(room.app).state is CallState.LIVE


async def test_binary_payloads_on_the_transcription_topic_are_ignored(
    settings: Settings, livekit_server: Any, new_conversation: tuple[str, str]
) -> None:
    async with watching(settings, livekit_server, new_conversation) as room:
        await room.mischief.send_bytes_on_transcription_topic()
        await room.mischief.publish_raw()
        await room.mischief.send("after the bytes", segment_id="AFTER")  # ordered after them
        await room.wait_final("AFTER")
        await room.pilot.pause(0.2)
        assert [s.id for s in room.view.segments()] == ["AFTER"]
        assert badge(room.app).state is CallState.LIVE


async def test_unknown_speakers_are_labelled_neutrally(
    settings: Settings, livekit_server: Any, new_conversation: tuple[str, str]
) -> None:
    async with watching(settings, livekit_server, new_conversation, WIDE) as room:
        server, room_name = livekit_server, room.mischief.room_name
        keys = (server.url, server.api_key, server.api_secret, room_name)
        # An agent-kind sender can speak "on behalf of" identities that are not in the room.
        async with Mischief(*keys, kind="agent") as impostor:
            await impostor.send("from a ghost", segment_id="GHOST", sender_identity="ghost-99")
            await impostor.send("pretending", segment_id="SPOOF", sender_identity="Agent")
            # Stay until both arrived whole: `send` returns once the data is queued on the
            # sender's side, and leaving at once can drop what is still in flight.
            await room.wait_final("GHOST")
            await room.wait_final("SPOOF")
        # A third participant, silent and unseen, and one that publishes audio.
        await room.mischief.send("a silent third party", segment_id="THIRD")
        async with Mischief(*keys, identity="supervisor-2", publish_audio=True) as third:
            await wait_for(
                room.pilot,
                lambda: (
                    room.app.call.session is not None
                    and "supervisor-2" in room.app.call.session._room.remote_participants
                ),
                what="the audible third participant",
            )
            await third.send("an audible third party", segment_id="AUDIBLE")
            for segment_id in ("GHOST", "SPOOF", "THIRD", "AUDIBLE"):
                segment = await room.wait_final(segment_id)
                shown = room.rendered(segment_id)
                assert segment.role is Role.OTHER, (segment_id, segment.role, shown)
                assert not shown.startswith(("Agent", "Caller")), (segment_id, shown)
        assert "ghost-99" in room.rendered("GHOST")

"""Who is who: agents by kind or by `lk.agent.state`, the first caller pinned, and
an agent recognised by its attribute ending the call when it leaves, like any agent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from livekit import rtc

from snoop_tui.events import CallState, SessionEvent, SpeakersChanged, StateChanged
from snoop_tui.platform import ListenerGrant
from snoop_tui.roles import CallRoster, agent_in, role_of
from snoop_tui.session import ListenerSession
from snoop_tui.session import role_of as role_of_from_session
from snoop_tui.transcript import Role
from tests.session_fakes import agent, agent_by_attribute, caller, grant, standard

HUNG_UP = rtc.DisconnectReason.CLIENT_INITIATED


def test_role_of_is_still_importable_from_the_session() -> None:
    assert role_of_from_session is role_of


@pytest.mark.parametrize(
    ("participant", "role"),
    [
        (agent(), Role.AGENT),
        (agent_by_attribute(), Role.AGENT),
        (caller(), Role.CALLER),
        (standard("web-caller"), Role.CALLER),
        (None, Role.OTHER),
    ],
    ids=["agent-kind", "agent-attribute", "sip", "standard", "nobody"],
)
def test_role_of(participant: rtc.Participant | None, role: Role) -> None:
    assert role_of(participant) is role


def test_an_agent_recognised_by_its_attribute_counts_as_an_agent_in_the_room() -> None:
    assert agent_in([caller(), agent_by_attribute()])
    assert not agent_in([caller(), standard("supervisor-2")])


def test_the_first_caller_is_pinned_and_a_sip_caller_goes_first() -> None:
    web, sip = standard("web-1"), caller("sip-1")
    roster = CallRoster(dict)
    roster.pin_caller([web, agent_by_attribute(), sip])
    assert roster.role(sip) is Role.CALLER
    assert roster.role(web) is Role.OTHER, "a second caller is someone else"


def test_a_pinned_caller_that_turns_out_to_be_an_agent_frees_the_caller_place() -> None:
    roster = CallRoster(dict)
    late_agent = standard("agent-late")
    assert roster.role(late_agent) is Role.CALLER  # before its `lk.agent.state` arrived
    late_agent.attributes["lk.agent.state"] = "initializing"
    assert roster.role(late_agent) is Role.AGENT
    assert roster.role(caller("sip-1")) is Role.CALLER


def test_roles_are_remembered_after_a_participant_leaves() -> None:
    """Its last transcript streams can arrive after it left: they keep its label."""
    present = {"agent-2": agent_by_attribute("agent-2"), "sip-1": caller("sip-1")}
    roster = CallRoster(lambda: present)
    assert roster.role_by_identity("agent-2") is Role.AGENT
    assert roster.role_by_identity("sip-1") is Role.CALLER
    present.clear()
    assert roster.role_by_identity("agent-2") is Role.AGENT
    assert roster.role_by_identity("sip-1") is Role.CALLER
    assert roster.role_by_identity("ghost-99") is Role.OTHER


# the session hears an agent leave ---------------------------------------------------


class Observed:
    """A session whose room joins without a server; it records the states it reports."""

    def __init__(self) -> None:
        self.states: list[tuple[CallState, str | None]] = []
        self.speakers: list[frozenset[Role]] = []
        self.ended = asyncio.Event()
        self.session = ListenerSession(grant(), on_event=self.on_event)

    def leaves(self, participant: rtc.RemoteParticipant) -> None:
        """The room tells the session that `participant` left, as the SDK does."""
        self.session._room.emit("participant_disconnected", participant)

    def speaking(self, *participants: rtc.RemoteParticipant) -> None:
        """The room reports who is speaking now, loudest first, as the SDK does."""
        self.session._room.emit("active_speakers_changed", list(participants))

    def on_event(self, event: SessionEvent) -> None:
        if isinstance(event, SpeakersChanged):
            self.speakers.append(event.active)
        if isinstance(event, StateChanged):
            self.states.append((event.state, event.reason))
            if event.state is CallState.ENDED:
                self.ended.set()


async def _join_without_a_server(self: ListenerSession, grant: ListenerGrant) -> None:
    """Stands in for joining a LiveKit room: a new room, wired, that never connects."""
    self._adopt(rtc.Room())


@pytest.fixture
async def observed(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Observed]:
    monkeypatch.setattr(ListenerSession, "_join", _join_without_a_server)
    watched = Observed()
    await watched.session.connect()
    try:
        yield watched
    finally:
        await watched.session.stop()


@pytest.mark.parametrize("who", [agent, agent_by_attribute], ids=["by-kind", "by-attribute"])
async def test_an_agent_hanging_up_ends_the_session(
    observed: Observed, who: Callable[..., rtc.RemoteParticipant]
) -> None:
    observed.leaves(who(disconnect_reason=HUNG_UP))
    async with asyncio.timeout(1):
        await observed.ended.wait()
    assert observed.states == [
        (CallState.CONNECTING, None),
        (CallState.LIVE, None),
        (CallState.ENDED, "The agent left the call."),
    ]


async def test_a_caller_or_third_party_leaving_does_not_end_the_session(
    observed: Observed,
) -> None:
    for participant in (caller(disconnect_reason=HUNG_UP), standard("supervisor-2")):
        observed.leaves(participant)
    await asyncio.sleep(0)  # anything the handler started has had its turn
    assert observed.session.state is CallState.LIVE
    assert observed.session.state_history == [CallState.CONNECTING, CallState.LIVE]


async def test_who_is_speaking_is_reported_when_it_changes_not_when_the_sdk_repeats_it(
    observed: Observed,
) -> None:
    the_agent, the_caller = agent(), caller()
    observed.speaking(the_agent)
    observed.speaking(the_agent)  # its level changed: the same people speak
    observed.speaking(the_agent, the_caller)
    observed.speaking(the_caller, the_agent)  # louder one first: still the same two
    observed.speaking()
    observed.speaking()
    observed.speaking(the_caller)
    assert observed.speakers == [
        frozenset({Role.AGENT}),
        frozenset({Role.AGENT, Role.CALLER}),
        frozenset(),
        frozenset({Role.CALLER}),
    ]

"""Who is who in a call's room: the agent, the caller, and anyone else.

LiveKit marks an agent by its participant kind; an agent that joined as an ordinary
participant is still recognisable by the `lk.agent.state` attribute that LiveKit
Agents publishes. Of several callers only the first one seen is "the" caller (a SIP
participant first), so a third party in the room can never speak as the caller.
The roster also remembers the roles of participants who have left, because their
last transcript streams can arrive after the departure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from livekit import rtc

from snoop_tui.transcript import Role

AGENT_STATE_ATTRIBUTE = "lk.agent.state"
"""Set by LiveKit Agents on the agent's participant, whatever kind it joined as."""

_CALLER_KINDS = (
    rtc.ParticipantKind.PARTICIPANT_KIND_SIP,
    rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD,
)


def is_agent(participant: rtc.Participant) -> bool:
    """An agent by kind, or by the attribute LiveKit Agents sets on its participant."""
    return (
        participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
        or AGENT_STATE_ATTRIBUTE in participant.attributes
    )


def role_of(participant: rtc.Participant | None) -> Role:
    """The role a participant's kind and attributes give it (before pinning the caller)."""
    if participant is None:
        return Role.OTHER
    if is_agent(participant):
        return Role.AGENT
    if participant.kind in _CALLER_KINDS:
        return Role.CALLER
    return Role.OTHER


def agent_in(participants: Iterable[rtc.Participant]) -> bool:
    return any(is_agent(p) for p in participants)


class CallRoster:
    """Roles of the room's participants, with the first caller pinned.

    `participants` is a getter: the session replaces its room when it rejoins."""

    def __init__(self, participants: Callable[[], Mapping[str, rtc.RemoteParticipant]]) -> None:
        self._participants = participants
        self._caller: str | None = None
        self._last_role: dict[str, Role] = {}

    def pin_caller(self, present: Iterable[rtc.Participant]) -> None:
        """Meet everyone already in a room just joined: a SIP participant is the caller first."""
        for participant in sorted(
            present, key=lambda p: p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_SIP
        ):
            self.role(participant)

    def role(self, participant: rtc.Participant | None) -> Role:
        """The participant's role; of several callers only the first one seen is the caller."""
        role = role_of(participant)
        if participant is None:
            return role
        identity = participant.identity
        if role is Role.CALLER:
            if self._caller is None:
                self._caller = identity
            role = Role.CALLER if identity == self._caller else Role.OTHER
        elif identity == self._caller:  # it announced itself as an agent after we pinned it
            self._caller = None
        self._last_role[identity] = role
        return role

    def role_by_identity(self, identity: str) -> Role:
        """The role of whoever has this identity, in the room now or before it left."""
        participant = self._participants().get(identity)
        if participant is not None:
            return self.role(participant)
        return self._last_role.get(identity, Role.OTHER)

    def agent_present(self) -> bool:
        return agent_in(self._participants().values())

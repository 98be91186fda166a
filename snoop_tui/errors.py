"""Errors that cross snoop-tui's layers, each with a message a supervisor can act on.

The hierarchy::

    SnoopError
    ├── ConfigError                  settings missing or unusable (no credential, bad URL)
    ├── PlatformError                the platform API said no, or could not be reached
    │   ├── Unauthorized             401: the credential is missing, wrong or lacks its org
    │   ├── MissingScope             403: the credential cannot mint listener tokens
    │   ├── ConversationNotFound     404: no such conversation, or it has no LiveKit room
    │   ├── ConversationNotActive    409: the call is over (or never started)
    │   ├── PlatformUnavailable      5xx: the platform failed
    │   ├── BadPlatformResponse      a body that is not the documented JSON
    │   ├── PlatformUnreachable      the connection failed (DNS, refused, TLS)
    │   └── PlatformTimeout          the platform did not answer in time
    ├── UnsafeListenerToken          the token could publish or would be visible
    ├── RoomConnectError             the LiveKit room could not be joined
    └── AudioUnavailable             no audio output on this machine (or PortAudio missing)

Each leaf class carries the process exit code the CLI ends with (`exit_code`);
the README's table lists them, and a test keeps the two the same. Messages never
contain the credential or the listener token: they are built from status codes,
ids and fixed text only.
"""

from __future__ import annotations


class SnoopError(Exception):
    """Base of every error snoop-tui shows a supervisor."""

    title = "Error"
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(SnoopError):
    title = "Configuration problem"
    exit_code = 2


class PlatformError(SnoopError):
    title = "Platform error"
    exit_code = 10


class Unauthorized(PlatformError):
    title = "Credential refused"
    exit_code = 11


class MissingScope(PlatformError):
    title = "Missing permission"
    exit_code = 12


class ConversationNotFound(PlatformError):
    title = "Conversation not found"
    exit_code = 13


class ConversationNotActive(PlatformError):
    title = "Call not active"
    exit_code = 14


class PlatformUnavailable(PlatformError):
    title = "Platform unavailable"
    exit_code = 15


class BadPlatformResponse(PlatformError):
    title = "Unexpected platform response"
    exit_code = 16


class PlatformUnreachable(PlatformError):
    title = "Platform unreachable"
    exit_code = 17


class PlatformTimeout(PlatformError):
    title = "Platform timed out"
    exit_code = 18


class UnsafeListenerToken(SnoopError):
    title = "Unsafe listener token"
    exit_code = 20


class RoomConnectError(SnoopError):
    title = "Could not join the call"
    exit_code = 21


class AudioUnavailable(SnoopError):
    title = "No audio output"
    exit_code = 30


def exit_codes() -> set[int]:
    """Every exit code an error can end the process with (the README lists them)."""
    codes = set()
    pending: list[type[SnoopError]] = [SnoopError]
    while pending:
        cls = pending.pop()
        subclasses = cls.__subclasses__()
        if not subclasses or cls is SnoopError:
            codes.add(cls.exit_code)
        pending.extend(subclasses)
    return codes

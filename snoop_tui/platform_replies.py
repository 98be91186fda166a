"""How the platform's answers are read: each status turned into the error a supervisor
can act on, each body decoded as JSON of the shape it must have, defensively (a login
page, a proxy's page or a plain web server is said to be what it is), and Retry-After."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from snoop_tui.errors import (
    BadPlatformResponse,
    ConversationNotActive,
    ConversationNotFound,
    MissingScope,
    PlatformError,
    PlatformUnavailable,
    Unauthorized,
)


@dataclass(frozen=True)
class Reply:
    """One answer, read within its size limit: what the decoders and error maps look at."""

    status: int
    body: bytes
    content_type: str
    retry_after: float | None


def too_large() -> BadPlatformResponse:
    return BadPlatformResponse(
        "The platform sent an unexpectedly large response; refusing to read it. "
        "Check ANYREACH_API_URL points at the API."
    )


def declared_length(headers: httpx.Headers) -> int:
    try:
        return int(headers.get("content-length", "0"))
    except ValueError:
        return 0


def retry_after(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


WEB_SERVER_STATUSES = frozenset({404, 405, 501})
"""How a plain web server answers an API path or a POST it does not serve."""


def is_a_plain_web_server(reply: Reply) -> bool:
    """The platform answers its errors in JSON (`{"detail": ...}`), never with a page."""
    if reply.status not in WEB_SERVER_STATUSES or not reply.body.strip():
        return False
    if "html" in reply.content_type.lower():
        return True
    try:
        json.loads(reply.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return True
    return False


def status_error(status: int, conversation_id: str) -> PlatformError:
    if status == 401:
        return Unauthorized(
            "The platform refused the credential (401). Check ANYREACH_TOKEN; a pat_ token "
            "also needs ANYREACH_ORG."
        )
    if status == 403:
        return MissingScope(
            "Your credential may not listen to live calls (403). It needs the scope "
            "conversations:read_sensitive or conversations:manage."
        )
    if status == 404:
        return ConversationNotFound(
            f"Conversation {conversation_id} was not found, or it has no live call room (404)."
        )
    if status == 409:
        return ConversationNotActive(
            f"Conversation {conversation_id} is not active (409): only calls that are "
            "triggered, ringing or in progress can be listened to."
        )
    if status == 429:
        return PlatformUnavailable("The platform is rate limiting requests (429). Try again soon.")
    if status >= 500:
        return PlatformUnavailable(f"The platform failed ({status}). Try again in a moment.")
    return BadPlatformResponse(f"The platform answered with an unexpected status ({status}).")


def decode_json_object(raw: bytes, content_type: str = "") -> Mapping[str, Any]:
    body = decode_json(raw, content_type)
    if not isinstance(body, dict):
        raise BadPlatformResponse("The platform's answer was not a JSON object.")
    return body


def decode_json(raw: bytes, content_type: str) -> Any:
    if "html" in content_type.lower():
        raise BadPlatformResponse(
            "The platform's answer was not JSON but a web page (a login page or proxy?)."
        )
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadPlatformResponse("The platform's answer was not JSON.") from None
    return body


def string_field(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadPlatformResponse(
            f"The platform's listener-token answer has no valid `{name}` field."
        )
    return value


# -- the live call listing -------------------------------------------------------------


def listing_error(status: int) -> PlatformError:
    """A listing names no conversation: its 403 and 404 mean something of their own."""
    if status == 403:
        return MissingScope(
            "Your credential may not list conversations (403). It needs the scope "
            "conversations:read, conversations:read_sensitive or conversations:manage."
        )
    if status == 404:
        return BadPlatformResponse(
            "The platform has no conversation listing at this address (404). "
            "Check ANYREACH_API_URL points at the API."
        )
    if status in (401, 429) or status >= 500:
        return status_error(status, "")
    return BadPlatformResponse(f"The platform refused to list the conversations ({status}).")


def decode_json_array(raw: bytes, content_type: str) -> list[Any]:
    body = decode_json(raw, content_type)
    if not isinstance(body, list):
        raise BadPlatformResponse("The platform's conversation list was not a JSON array.")
    return body


def cursor_after(item: object) -> str | None:
    """The documented cursor: the last item's `created_at`, Base64-encoded as it came."""
    created_at = item.get("created_at") if isinstance(item, dict) else None
    if not isinstance(created_at, str) or not created_at:
        return None
    return base64.b64encode(created_at.encode("utf-8")).decode("ascii")

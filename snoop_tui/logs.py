"""The optional debug log: a private file (mode 0600) in which secrets never appear.

Every `Secret` registers its value here when it is made, and the log's formatter
replaces any registered value in the finished line, traceback included, so a
credential or listener token that slips into a message or exception text is
still never written.
"""

from __future__ import annotations

import logging
import os
import re
from typing import TextIO

from snoop_tui.errors import ConfigError

REDACTED = "[redacted]"
_secrets: set[str] = set()
_LOOKS_SECRET = re.compile(
    r"eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}"  # a JWT, registered or not
    r"|(?<=Bearer )[^\s'\"]+"  # whatever follows "Bearer "
    r"|(?<=access_token=)[^\s&'\"]+",  # a token in a URL's query
)


def register_secret(value: str) -> None:
    if len(value) >= 6:
        _secrets.add(value)


def redact(text: str) -> str:
    """Replace every registered secret, and anything shaped like a token, with REDACTED."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _LOOKS_SECRET.sub(REDACTED, text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _LogFileHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs: one per process."""


def configure_logging(path: str) -> None:
    """Send DEBUG and above to `path`, created (or tightened) to mode 0600.

    A symlink is not followed: in a shared /tmp it could point at someone else's file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600)
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the log file {path} ({exc.strerror}); choose another --log-file."
        ) from None
    handler = _LogFileHandler(os.fdopen(fd, "a", encoding="utf-8"))
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for earlier in [h for h in root.handlers if isinstance(h, _LogFileHandler)]:
        root.removeHandler(earlier)  # the guard's, inherited by the panel it forked
        earlier.close()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for noisy in ("asyncio", "httpcore", "markdown_it"):
        logging.getLogger(noisy).setLevel(logging.INFO)

"""The optional debug log: a private file (mode 0600) in which secrets never appear.

Every `Secret` registers its value here when it is made, and the log's formatter
replaces any registered value in the finished line, traceback included, so a
credential or listener token that slips into a message or exception text is
still never written.
"""

from __future__ import annotations

import logging
import os

REDACTED = "[redacted]"
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    if len(value) >= 6:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(path: str) -> None:
    """Send DEBUG and above to `path`, created (or tightened) to mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    handler = logging.StreamHandler(os.fdopen(fd, "a", encoding="utf-8"))
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for noisy in ("asyncio", "httpcore", "markdown_it"):
        logging.getLogger(noisy).setLevel(logging.INFO)

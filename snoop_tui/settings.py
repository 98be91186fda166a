"""One Settings object, from flags > environment > config file > defaults.

The credential is never read from the command line (argv is visible to every user
of a shared jump box through `ps`): it comes from `ANYREACH_TOKEN`, from a file
named by `ANYREACH_TOKEN_FILE` or `token_file`, or from the config file, which
must then be readable by its owner only, as ssh insists for its keys.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from snoop_tui.errors import ConfigError
from snoop_tui.logs import register_secret

DEFAULT_API_URL = "https://api.anyreach.ai"
ENV_PREFIX = "ANYREACH_"


class Secret:
    """A string that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Settings:
    """Everything snoop-tui needs to reach the platform and play audio."""

    api_url: str = DEFAULT_API_URL
    """Base URL of the platform API (`ANYREACH_API_URL`)."""
    credential: Secret | None = field(default=None, repr=False)
    """`ak_` organization key or `pat_` personal token (`ANYREACH_TOKEN`)."""
    org: str | None = None
    """Organization id sent as `X-Anyreach-Org`; needed by `pat_` tokens (`ANYREACH_ORG`)."""
    request_timeout: float = 10.0
    """Seconds to wait for one platform request (`ANYREACH_TIMEOUT`)."""
    connect_timeout: float = 15.0
    """Seconds to wait for the LiveKit room to be joined, as the platform's own SDK does."""
    output_device: str | None = None
    """Audio output device, by name or index; the system default when unset."""
    listener_token_path: str = "/core/conversations/{conversation_id}/listener-token"
    """Path of the listener-token endpoint, for compatible self-hosted platforms."""
    board_refresh: float = 3.0
    """Seconds between two refreshes of the board of live calls (`board_refresh`)."""
    conversation_path: str = "/core/conversations/{conversation_id}"
    """Path of the conversation endpoint."""
    conversations_path: str = "/core/conversations"
    """Path of the conversation listing (the live call board and `snoop-tui list`)."""
    alerts: tuple[str, ...] = ()
    """Phrases to flag when said (`alerts` in the config file, plus each `--alert`)."""
    bell: bool = True
    """Ring the terminal bell when an alert phrase is said (`bell`)."""
    save_dir: str | None = None
    """Where `s` saves a transcript: a directory, or a file name stem (`save_dir`, `--save`);
    the current directory when unset."""

    def require_credential(self) -> Secret:
        if not self.credential:
            raise ConfigError(
                "No API credential. Set ANYREACH_TOKEN (or ANYREACH_TOKEN_FILE), or put "
                f"`token` in {config_file_path()} (readable by you only)."
            )
        if self.credential.reveal().startswith("pat_") and not self.org:
            raise ConfigError(
                "A personal access token (pat_) needs an organization: set ANYREACH_ORG."
            )
        return self.credential


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "snoop-tui" / "config.toml"


def config_file_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file snoop-tui reads: `$ANYREACH_CONFIG`, else the default one."""
    env = os.environ if env is None else env
    named = env.get(ENV_PREFIX + "CONFIG")
    return Path(named) if named else default_config_path(env)


CONFIG_KEYS = (
    "api_url",
    "token",
    "token_file",
    "org",
    "timeout",
    "output_device",
    "board_refresh",
    "alerts",
    "bell",
    "save_dir",
)
"""Every key `load_settings` reads from the config file; any other is a mistake."""


def config_file_warnings(
    env: Mapping[str, str] | None = None, config_path: Path | None = None
) -> list[str]:
    """One line per key of the config file that snoop-tui does not read, naming the known
    key nearest to it: a misspelt key would otherwise be ignored without a word."""
    path = config_path or config_file_path(env)
    try:
        data = _load_config_file(path)
    except ConfigError:
        return []  # load_settings says what is wrong with the file itself
    warnings = []
    for key in data:
        if key not in CONFIG_KEYS:
            near = difflib.get_close_matches(key, CONFIG_KEYS, n=1, cutoff=0.6)
            hint = f" (did you mean `{near[0]}`?)" if near else ""
            warnings.append(
                f"The config file {path} has an unknown key `{key}`{hint}; it is ignored."
            )
    return warnings


def _read_private_file(path: Path, what: str) -> str:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"The {what} {path} does not exist.") from None
    except OSError as exc:
        raise ConfigError(f"The {what} {path} cannot be read ({exc.strerror}).") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"The {what} {path} can be read by other users; it holds a credential. "
            f"Run: chmod 600 {path}"
        )
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The {what} {path} cannot be read ({exc}).") from None


def _load_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"The config file {path} is not valid TOML: {exc}") from None
    if "token" in data:
        _read_private_file(path, "config file")  # refuse a world-readable secret
    return data


def _credential_from(token: object, token_file: object, where: str) -> Secret | None:
    if token_file:
        text = _read_private_file(Path(str(token_file)).expanduser(), "token file").strip()
        if not text:
            raise ConfigError(f"The token file named by {where} is empty.")
        return Secret(text)
    if token:
        return Secret(str(token).strip())
    return None


def _validate_api_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"The API URL {url!r} is not an http(s) URL.")
    return url.rstrip("/")


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> Settings:
    """Build Settings: `overrides` (the CLI flags) win over env, env over the file."""
    env = os.environ if env is None else env
    path = config_path or config_file_path(env)
    file_data = _load_config_file(path)

    settings = Settings()
    credential = _credential_from(file_data.get("token"), file_data.get("token_file"), str(path))
    env_credential = _credential_from(
        env.get(ENV_PREFIX + "TOKEN"), env.get(ENV_PREFIX + "TOKEN_FILE"), "ANYREACH_TOKEN_FILE"
    )
    values: dict[str, Any] = {
        "api_url": file_data.get("api_url", settings.api_url),
        "credential": env_credential or credential,
        "org": file_data.get("org"),
        "request_timeout": file_data.get("timeout", settings.request_timeout),
        "output_device": file_data.get("output_device"),
        "board_refresh": file_data.get("board_refresh", settings.board_refresh),
        "save_dir": file_data.get("save_dir"),
    }
    for key, env_key in (("api_url", "API_URL"), ("org", "ORG"), ("request_timeout", "TIMEOUT")):
        if env.get(ENV_PREFIX + env_key):
            values[key] = env[ENV_PREFIX + env_key]
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value

    try:
        timeout = float(values["request_timeout"])
    except (TypeError, ValueError):
        raise ConfigError("The timeout must be a number of seconds.") from None
    if not 0 < timeout <= 300:
        raise ConfigError("The timeout must be between 0 and 300 seconds.")
    try:
        refresh = float(values["board_refresh"])
    except (TypeError, ValueError):
        raise ConfigError("The board's refresh must be a number of seconds.") from None
    if not 1 <= refresh <= 300:
        raise ConfigError("The board's refresh must be between 1 and 300 seconds.")
    device = values["output_device"]
    alerts = _alert_phrases(file_data.get("alerts", []), "`alerts` in the config file")
    alerts += _alert_phrases((overrides or {}).get("alerts") or [], "--alert")
    bell = file_data.get("bell", True)
    if not isinstance(bell, bool):
        raise ConfigError("`bell` in the config file must be true or false.")
    save_dir = values.get("save_dir")
    if save_dir is not None and (not isinstance(save_dir, str) or not save_dir.strip()):
        raise ConfigError('`save_dir` must be a directory name, e.g. save_dir = "~/calls".')
    return replace(
        settings,
        api_url=_validate_api_url(str(values["api_url"])),
        credential=values["credential"],
        org=str(values["org"]) if values["org"] else None,
        request_timeout=timeout,
        output_device=str(device) if device not in (None, "") else None,
        board_refresh=refresh,
        alerts=alerts,
        bell=bell,
        save_dir=str(Path(save_dir).expanduser()) if save_dir is not None else None,
    )


MAX_ALERT_CHARS = 200


def _alert_phrases(given: object, where: str) -> tuple[str, ...]:
    """Alert phrases from the config file or the flags: a list of strings, blanks skipped."""
    if not isinstance(given, (list, tuple)) or not all(isinstance(p, str) for p in given):
        raise ConfigError(
            f'{where} must be a list of phrases, e.g. alerts = ["cancel my account", "lawyer"].'
        )
    phrases = tuple(" ".join(p.split()) for p in given if p.strip())
    for phrase in phrases:
        if len(phrase) > MAX_ALERT_CHARS:
            raise ConfigError(
                f"The alert phrase {phrase[:40]!r}… in {where} is over "
                f"{MAX_ALERT_CHARS} characters."
            )
    return phrases


_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def validate_conversation_id(conversation_id: str) -> str:
    if not _CONVERSATION_ID.match(conversation_id):
        raise ConfigError(
            "That does not look like a conversation id (letters, digits, '_', '-', '.', ':'; "
            "up to 128 characters)."
        )
    return conversation_id

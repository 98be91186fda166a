"""Settings: flags over environment over config file; the credential stays secret."""

import os
from pathlib import Path

import pytest

from snoop_tui.errors import ConfigError
from snoop_tui.settings import DEFAULT_API_URL, Secret, load_settings


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_defaults_then_file_then_env_then_flags(tmp_path: Path) -> None:
    config = _write(tmp_path / "c.toml", 'api_url = "https://file.test"\ntoken = "ak_file"\n')
    assert load_settings(env={}, config_path=tmp_path / "none.toml").api_url == DEFAULT_API_URL
    s = load_settings(env={}, config_path=config)
    assert (s.api_url, s.credential) == ("https://file.test", Secret("ak_file"))
    env = {"ANYREACH_API_URL": "https://env.test", "ANYREACH_TOKEN": "ak_env"}
    s = load_settings(env=env, config_path=config)
    assert (s.api_url, s.credential) == ("https://env.test", Secret("ak_env"))
    s = load_settings({"api_url": "https://flag.test"}, env=env, config_path=config)
    assert s.api_url == "https://flag.test"


def test_config_file_with_a_token_readable_by_others_is_refused(tmp_path: Path) -> None:
    config = _write(tmp_path / "c.toml", 'token = "ak_secret_value"\n', mode=0o644)
    with pytest.raises(ConfigError, match="chmod 600") as info:
        load_settings(env={}, config_path=config)
    assert "ak_secret_value" not in str(info.value)


def test_token_file_is_read_and_must_be_private(tmp_path: Path) -> None:
    token = _write(tmp_path / "token", "ak_from_file\n")
    s = load_settings(env={"ANYREACH_TOKEN_FILE": str(token)}, config_path=tmp_path / "x")
    assert s.credential == Secret("ak_from_file")
    os.chmod(token, 0o640)
    with pytest.raises(ConfigError, match="other users"):
        load_settings(env={"ANYREACH_TOKEN_FILE": str(token)}, config_path=tmp_path / "x")


def test_secret_never_shows_itself() -> None:
    s = load_settings(env={"ANYREACH_TOKEN": "ak_live_123456"}, config_path=Path("/nonexistent"))
    assert "ak_live_123456" not in repr(s) and "ak_live_123456" not in str(s.credential)


def test_missing_credential_and_pat_without_org_are_explained() -> None:
    with pytest.raises(ConfigError, match="ANYREACH_TOKEN"):
        load_settings(env={}, config_path=Path("/nonexistent")).require_credential()
    s = load_settings(env={"ANYREACH_TOKEN": "pat_abc123"}, config_path=Path("/nonexistent"))
    with pytest.raises(ConfigError, match="ANYREACH_ORG"):
        s.require_credential()


def test_bad_values_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="http"):
        load_settings(env={"ANYREACH_API_URL": "ftp://x"}, config_path=tmp_path / "x")
    with pytest.raises(ConfigError, match="timeout"):
        load_settings(env={"ANYREACH_TIMEOUT": "soon"}, config_path=tmp_path / "x")
    with pytest.raises(ConfigError, match="TOML"):
        load_settings(env={}, config_path=_write(tmp_path / "bad.toml", "= ="))

"""`snoop-tui devices` and choosing an output device, against the real null sink."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from snoop_tui.settings import load_settings
from tests.fixtures_audio import NullSink


def test_devices_command_lists_outputs_and_marks_the_default(null_sink: NullSink) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "snoop_tui", "devices"],
        env=null_sink.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("*") for line in lines), done.stdout
    assert any(" default " in f"{line} " for line in lines), done.stdout
    assert "Traceback" not in done.stderr


def test_output_device_comes_from_the_config_file_or_the_flag(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('output_device = "pulse"\n')
    assert load_settings(env={}, config_path=config).output_device == "pulse"
    flagged = load_settings({"output_device": "3"}, env={}, config_path=config)
    assert flagged.output_device == "3"

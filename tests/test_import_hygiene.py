"""The core never imports Textual: the UI depends on the core, never the other way."""

import subprocess
import sys

CORE = [
    "platform",
    "grants",
    "transcript",
    "audio",
    "call_audio",
    "call_status",
    "events",
    "liveness",
    "session",
    "settings",
    "errors",
    "logs",
]


def test_core_modules_do_not_import_textual() -> None:
    code = (
        "import sys\n"
        + "".join(f"import snoop_tui.{name}\n" for name in CORE)
        + "import snoop_tui.demo.stack\n"
        + "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"

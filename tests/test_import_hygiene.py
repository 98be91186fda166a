"""The layers stay apart, in both directions, one fresh interpreter per module.

The core (platform, grants, transcript, audio, session and its parts) never imports
Textual; the UI (app, screens, widgets, messages) never imports the LiveKit SDK,
the audio library or the HTTP client: it drives a call only through `CallLink`.
The panel's process never loads a native library (LiveKit, PortAudio): those live
in the call process, which never loads Textual.
"""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys

import pytest

import snoop_tui
import snoop_tui.screens
import snoop_tui.widgets

UI = [
    "snoop_tui.app",
    "snoop_tui.messages",
    "snoop_tui.quiet_driver",
    *(f"snoop_tui.screens.{m.name}" for m in pkgutil.iter_modules(snoop_tui.screens.__path__)),
    *(f"snoop_tui.widgets.{m.name}" for m in pkgutil.iter_modules(snoop_tui.widgets.__path__)),
]
NOT_CORE = {
    "app",
    "messages",
    "quiet_driver",
    "screens",
    "widgets",
    "cli",
    "launch",
    "process_call",
    "terminal_guard",
    "demo",
    "__main__",
}
"""`cli`, `launch`, `process_call` and `terminal_guard` run in the panel's process and put
the two together; `demo` is the local stack."""
CORE = [
    f"snoop_tui.{m.name}"
    for m in pkgutil.iter_modules(snoop_tui.__path__)
    if m.name not in NOT_CORE
]
UI_MUST_NOT_LOAD = ("livekit", "sounddevice", "rtmixer", "httpx", "numpy")


def loaded_by(module: str) -> set[str]:
    """Top-level packages loaded by importing `module` in a fresh interpreter."""
    code = (
        f"import sys, {module}\n"
        "print('\\n'.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


PANEL_PROCESS = ["snoop_tui.cli", "snoop_tui.launch", "snoop_tui.process_call", *UI]
"""What the panel's process loads to run `snoop-tui watch`: no native library at all."""
NATIVE = ("livekit", "sounddevice", "rtmixer", "_rtmixer", "numpy")


@pytest.mark.parametrize("module", PANEL_PROCESS)
def test_the_panel_process_loads_no_native_library(module: str) -> None:
    assert not loaded_by(module) & set(NATIVE)


def test_the_call_process_does_not_load_textual() -> None:
    assert "textual" not in loaded_by("snoop_tui.call_process")


def test_listing_the_audio_outputs_loads_no_numpy() -> None:
    """`snoop-tui devices` and the doctor list the outputs from `audio_output`, which
    leaves numpy (about 150 ms of CPU) to the player."""
    assert "numpy" not in loaded_by("snoop_tui.audio_output")
    assert "numpy" in loaded_by("snoop_tui.audio")


def test_the_guard_loads_no_event_loop_machinery() -> None:
    """`snoop-tui` itself (the guard, whose fork becomes the panel) stays small: asyncio
    alone takes about 30 ms to import, all of it before the first frame."""
    assert "asyncio" not in loaded_by("snoop_tui.cli")


def test_the_call_process_forked_from_the_panel_does_not_load_textual() -> None:
    """The panel forks its first call process once `launch` is loaded, before Textual:
    the child has what the panel had then, and what the call process loads itself."""
    forked = loaded_by("snoop_tui.cli, snoop_tui.launch, snoop_tui.call_process")
    assert "textual" not in forked and "livekit" not in loaded_by("snoop_tui.launch")


def threads_after_loading_the_sdk(prepare: str) -> int:
    """How many threads a fresh interpreter runs once it has done `prepare` and then
    loaded the session (LiveKit's SDK, numpy with it), as the call process does."""
    code = (
        f"import os, snoop_tui.call_process\n{prepare}\nimport snoop_tui.session\n"
        "print(len(os.listdir('/proc/self/task')))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "OMP_"))}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return int(result.stdout)


def test_the_call_process_loads_the_sdk_without_starting_numeric_threads() -> None:
    """numpy's BLAS would start a thread per core, spinning CPU the panel needs to draw
    itself at start; the call process asks for none."""
    assert threads_after_loading_the_sdk("pass") > 1  # what numpy does when left alone
    assert threads_after_loading_the_sdk("snoop_tui.call_process.one_numeric_thread()") == 1


def test_the_layers_are_all_covered() -> None:
    assert {"snoop_tui.session", "snoop_tui.audio", "snoop_tui.platform"} <= set(CORE)
    assert {"snoop_tui.screens.panel", "snoop_tui.widgets.badge"} <= set(UI)


@pytest.mark.parametrize("module", CORE)
def test_core_module_does_not_import_textual(module: str) -> None:
    assert "textual" not in loaded_by(module)


@pytest.mark.parametrize("module", UI)
def test_ui_module_does_not_import_the_sdk_audio_or_network(module: str) -> None:
    assert not loaded_by(module) & set(UI_MUST_NOT_LOAD)

"""What `pip install snoop-tui` puts on a jump box: the product, and no server framework.

The demo's servers (aiohttp, livekit-api) come only with the `demo` extra, and no
product module (everything outside `snoop_tui.demo`) loads them.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import snoop_tui

RUNTIME = {"textual", "livekit", "httpx", "sounddevice", "rtmixer", "numpy"}
SERVER_SIDE = {"aiohttp", "livekit-api"}
NAMED_PRODUCT_MODULES = {"cli", "app", "platform", "grants", "transcript", "session", "audio"}
NAMED_PRODUCT_MODULES |= {"settings"}


def requirements() -> list[Requirement]:
    return [Requirement(line) for line in importlib.metadata.requires("snoop-tui") or []]


def extras_of(requirement: Requirement) -> set[str]:
    """The extras a requirement belongs to (empty: the default install)."""
    if requirement.marker is None:
        return set()
    extras = {"demo", "dev"}
    return {extra for extra in extras if requirement.marker.evaluate({"extra": extra})}


def product_modules() -> list[str]:
    """Every module of the package outside `snoop_tui.demo` (and bar `__main__`)."""
    root = Path(snoop_tui.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[0] in ("demo", "__main__"):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(("snoop_tui", *parts)))
    return names


def test_server_framework_installs_only_with_the_demo_extra() -> None:
    by_name: dict[str, Requirement] = {canonicalize_name(r.name): r for r in requirements()}
    assert {name for name, r in by_name.items() if not extras_of(r)} == RUNTIME
    for name in SERVER_SIDE:
        assert extras_of(by_name[name]) == {"demo"}, by_name[name]


def test_every_requirement_is_bounded_above_and_below() -> None:
    for requirement in requirements():
        operators = {spec.operator for spec in requirement.specifier}
        pinned = operators == {"=="}  # an exact version bounds both ways
        assert pinned or (operators & {">=", ">"} and operators & {"<", "<="}), str(requirement)


def test_product_modules_load_no_server_framework() -> None:
    modules = product_modules()
    assert {f"snoop_tui.{name}" for name in NAMED_PRODUCT_MODULES} <= set(modules)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiohttp'"
        " or m == 'livekit.api' or m.startswith('livekit.api.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

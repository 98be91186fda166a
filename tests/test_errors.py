"""Every error a supervisor can meet has its exit code in the README's table."""

from __future__ import annotations

import re
from pathlib import Path

from snoop_tui import errors
from snoop_tui.errors import SnoopError

README = Path(__file__).resolve().parent.parent / "README.md"


def leaf_errors() -> list[type[SnoopError]]:
    """The classes that are raised (the bases only group them), and SnoopError itself."""
    found = [SnoopError]
    pending = list(SnoopError.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls.__subclasses__():
            pending.extend(cls.__subclasses__())
        else:
            found.append(cls)
    return found


def readme_exit_codes() -> set[int]:
    section = README.read_text(encoding="utf-8").split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(code) for code in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)}


def test_each_error_s_exit_code_is_in_the_readme_and_nothing_else_is() -> None:
    codes = {cls.exit_code for cls in leaf_errors()}
    assert len(codes) == len(leaf_errors()), "two errors share an exit code"
    assert errors.exit_codes() == codes
    assert readme_exit_codes() == codes | {0, 130}


def test_every_error_class_lives_in_the_errors_module_tree() -> None:
    named = {name for name in dir(errors) if isinstance(getattr(errors, name), type)}
    assert {cls.__name__ for cls in leaf_errors()} <= named

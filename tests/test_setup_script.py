"""`scripts/setup` checks every prerequisite before anything slow, and says what to install.

Each test runs the real script in a temp copy of the project, on a PATH of its own
whose `go`, `python3`, `dpkg-query`, `apt-get`, `sudo` and `id` are stubs that
say what the test wants and write down how they were called.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("bash", "dirname", "sort", "head", "sed", "grep", "tail", "mkdir", "cat", "mv", "touch",
         "sleep", "env", "rm", "printf", "chmod")  # fmt: skip
"""The real programs the script uses besides the stubbed ones."""
PACKAGES = ("python3-venv", "libportaudio2", "pulseaudio", "pulseaudio-utils",
            "libasound2-plugins", "tmux")  # fmt: skip


@dataclass
class Checkout:
    root: Path
    bin: Path
    calls: Path

    def stub(self, name: str, body: str) -> None:
        """A program on the PATH that logs its arguments to `calls`, then runs `body`."""
        path = self.bin / name
        path.write_text(f'#!/bin/bash\necho "{name} $*" >> "{self.calls}"\n{body}\n')
        path.chmod(0o755)

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.root / "scripts" / "setup")],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": str(self.bin), "HOME": str(self.root)},
        )

    def called(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    """A copy of the project's setup script with a PATH where everything is fine: a
    recent Go and Python, every Debian package installed, root."""
    root = tmp_path / "snoop-tui"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "scripts" / "setup", root / "scripts" / "setup")
    (root / "pyproject.toml").write_text("[project]\nname = 'snoop-tui'\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        if found:
            os.symlink(found, bin_dir / tool)
    made = Checkout(root, bin_dir, tmp_path / "calls")
    made.stub("go", 'echo "go version go1.26.8 linux/amd64"')
    made.stub("python3", 'echo "3.11"')
    made.stub("dpkg-query", 'echo "install ok installed"')
    made.stub("id", "echo 0")
    made.stub("apt-get", "exit 0")
    made.stub("sudo", 'exec "$@"')
    return made


def everything_built(checkout: Checkout) -> None:
    """livekit-server, the virtualenv and its packages, as an earlier run left them."""
    tools = checkout.root / ".tools" / "bin"
    tools.mkdir(parents=True)
    (tools / "livekit-server").write_text("#!/bin/bash\necho 'livekit-server version 1.13.5'\n")
    (tools / "livekit-server").chmod(0o755)
    venv = checkout.root / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").write_text("#!/bin/bash\n")
    (venv / "python").chmod(0o755)
    stamp = checkout.root / ".venv" / ".snoop-installed"
    stamp.touch()
    os.utime(checkout.root / "pyproject.toml", (1, 1))


def nothing_slow_ran(checkout: Checkout) -> None:
    for call in checkout.called():
        assert not call.startswith(("go install", "apt-get", "sudo", "python3 -m venv")), call
    assert not (checkout.root / ".venv").exists()
    assert not (checkout.root / ".tools").exists()


def test_an_old_go_is_named_with_what_to_install(checkout: Checkout) -> None:
    checkout.stub("go", 'echo "go version go1.21.0 linux/amd64"')
    run = checkout.run()
    assert run.returncode == 1
    assert "Go 1.26 or newer builds livekit-server v1.13.5; go is 1.21.0" in run.stderr
    assert "https://go.dev/doc/install" in run.stderr and "SNOOP_LIVEKIT_SERVER" in run.stderr
    assert "command not found" not in run.stderr
    nothing_slow_ran(checkout)


def test_no_go_is_named_with_what_to_install(checkout: Checkout) -> None:
    (checkout.bin / "go").unlink()
    run = checkout.run()
    assert run.returncode == 1
    assert "Go 1.26 or newer builds livekit-server, and go is not installed" in run.stderr
    assert "https://go.dev/doc/install" in run.stderr
    assert "command not found" not in run.stderr
    nothing_slow_ran(checkout)


def test_every_missing_prerequisite_is_said_at_once(checkout: Checkout) -> None:
    (checkout.bin / "go").unlink()
    checkout.stub("python3", 'echo "3.9"')
    missing = 'case "$*" in *libportaudio2*|*tmux*) exit 1;; esac; echo "install ok installed"'
    checkout.stub("dpkg-query", missing)
    checkout.stub("id", "echo 1000")
    (checkout.bin / "sudo").unlink()
    run = checkout.run()
    assert run.returncode == 1
    assert "Python 3.11 or newer is needed; python3 is 3.9" in run.stderr
    assert "go is not installed" in run.stderr
    assert "needs root (no sudo here)" in run.stderr
    assert "apt-get install libportaudio2 tmux" in run.stderr
    nothing_slow_ran(checkout)


def test_missing_packages_without_apt_are_named(checkout: Checkout) -> None:
    checkout.stub("dpkg-query", 'case "$*" in *tmux*) exit 1;; esac; echo "install ok installed"')
    (checkout.bin / "apt-get").unlink()
    everything_built(checkout)
    run = checkout.run()
    assert run.returncode == 1
    assert "no apt-get to install them" in run.stderr and "tmux" in run.stderr


def test_nothing_missing_is_quiet_and_does_nothing(checkout: Checkout) -> None:
    everything_built(checkout)
    checkout.stub("go", 'echo "go version go1.21.0 linux/amd64"')  # not needed: no complaint
    run = checkout.run()
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    nothing_slow_ran_but_the_checks = [c for c in checkout.called() if not c.startswith("dpkg")]
    assert nothing_slow_ran_but_the_checks == []


def test_a_given_livekit_server_needs_no_go(checkout: Checkout, tmp_path: Path) -> None:
    everything_built(checkout)
    shutil.rmtree(checkout.root / ".tools")
    (checkout.bin / "go").unlink()
    server = tmp_path / "livekit-server"
    server.write_text("#!/bin/bash\n")
    server.chmod(0o755)
    run = subprocess.run(
        [str(checkout.root / "scripts" / "setup")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(checkout.bin), "SNOOP_LIVEKIT_SERVER": str(server)},
    )
    assert (run.returncode, run.stderr) == (0, "")


def test_the_build_says_it_takes_minutes_and_shows_its_progress(checkout: Checkout) -> None:
    everything_built(checkout)
    shutil.rmtree(checkout.root / ".tools")
    checkout.stub(
        "go",
        'if [ "$1" = version ]; then echo "go version go1.26.8 linux/amd64"; exit 0; fi\n'
        'echo "go: downloading github.com/livekit/livekit-server v1.13.5"\n'
        'echo "github.com/pion/webrtc/v4"\n'
        'printf "#!/bin/bash\\necho livekit-server version 1.13.5\\n" > "$GOBIN/server"\n'
        'chmod +x "$GOBIN/server"',
    )
    run = checkout.run()
    assert run.returncode == 0, run.stderr
    assert "building livekit-server v1.13.5 into .tools/bin: this takes a few minutes" in (
        run.stderr
    )
    assert "building livekit-server: done in" in run.stderr
    log = (checkout.root / ".tools" / "logs" / "livekit-build.log").read_text()
    assert "github.com/pion/webrtc/v4" in log
    assert (checkout.root / ".tools" / "bin" / "livekit-server").exists()
    assert "go install -v github.com/livekit/livekit-server/cmd/server@v1.13.5" in (
        checkout.called()
    )


def test_a_failed_build_shows_the_end_of_its_log(checkout: Checkout) -> None:
    everything_built(checkout)
    shutil.rmtree(checkout.root / ".tools")
    checkout.stub(
        "go",
        'if [ "$1" = version ]; then echo "go version go1.26.8 linux/amd64"; exit 0; fi\n'
        'echo "go: github.com/livekit/livekit-server: connection refused" >&2; exit 3',
    )
    run = checkout.run()
    assert run.returncode == 3
    assert "building livekit-server failed (exit 3)" in run.stderr
    assert "connection refused" in run.stderr

"""scripts/ensure_debian_packages.sh: installs only what is missing, quietly skips the rest.

The real ``dpkg-query`` answers what is installed; ``apt-get`` (and ``sudo``, ``id`` where the
test plays a non-root user) are stand-ins on PATH that record how they were called, so no test
installs anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ensure_debian_packages.sh"
MISSING = "opslevel-provider-test-no-such-package"
INSTALLED = "dpkg"  # on every Debian system


def stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH folder whose apt-get appends ``<DEBIAN_FRONTEND> <args>`` to ``calls``."""
    folder = tmp_path / "bin"
    folder.mkdir()
    stub(folder, "apt-get", f'echo "${{DEBIAN_FRONTEND:-unset}} $*" >> {tmp_path / "calls"}')
    return folder


def run(bin_dir: Path, *packages: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env.pop("DEBIAN_FRONTEND", None)
    return subprocess.run(
        ["sh", str(SCRIPT), *packages], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def calls(bin_dir: Path) -> list[str]:
    log = bin_dir.parent / "calls"
    return log.read_text().splitlines() if log.exists() else []


def test_installed_packages_are_left_alone_silently(bin_dir: Path) -> None:
    result = run(bin_dir, INSTALLED, "coreutils")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert calls(bin_dir) == []


def test_missing_packages_are_installed_after_one_update(bin_dir: Path) -> None:
    stub(bin_dir, "id", "echo 0")
    result = run(bin_dir, INSTALLED, MISSING)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"installing Debian packages: {MISSING}\n"
    assert calls(bin_dir) == [
        "unset update -qq",
        f"noninteractive install -y -qq --no-install-recommends {MISSING}",
    ]


def test_not_root_goes_through_sudo(bin_dir: Path) -> None:
    stub(bin_dir, "id", "echo 1000")
    # sudo resets the environment: the script must pass DEBIAN_FRONTEND itself.
    stub(bin_dir, "sudo", f'echo "sudo $1" >> {bin_dir.parent / "calls"}; unset DEBIAN_FRONTEND; exec "$@"')
    result = run(bin_dir, MISSING)
    assert result.returncode == 0, result.stderr
    assert calls(bin_dir) == [
        "sudo apt-get",
        "unset update -qq",
        "sudo env",
        f"noninteractive install -y -qq --no-install-recommends {MISSING}",
    ]


def test_not_root_without_sudo_fails_naming_the_command(bin_dir: Path, tmp_path: Path) -> None:
    stub(bin_dir, "id", "echo 1000")
    # A PATH without sudo: only the stubs and the tools the script itself uses.
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("dpkg-query", "sh"):
        (tools / tool).symlink_to(shutil.which(tool) or tool)
    env = {"PATH": f"{bin_dir}:{tools}"}
    result = subprocess.run(
        [str(tools / "sh"), str(SCRIPT), MISSING],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"run apt-get install {MISSING} as root" in result.stderr
    assert calls(bin_dir) == []


def test_no_package_named_is_a_usage_error(bin_dir: Path) -> None:
    result = run(bin_dir)
    assert result.returncode == 2 and "usage:" in result.stderr

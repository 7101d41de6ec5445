"""The test command installs what these tests need: Debian's nodejs and npm when missing, and its
apt-get waits for another apt-get's dpkg lock (DPkg::Lock::Timeout) instead of failing at once."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_scripts_test_installs_nodejs_and_npm():
    text = (REPO / "scripts" / "test").read_text()
    assert '"nodejs:command -v node"' in text and '"npm:command -v npm"' in text


def test_bootstrap_apt_get_waits_for_the_dpkg_lock(tmp_path):
    bin_dir, venv, log = tmp_path / "bin", tmp_path / "venv", tmp_path / "apt.log"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (bin_dir / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    for tool in ("apt-get", "sudo"):
        (bin_dir / tool).chmod(0o755)
    # An installed virtualenv (its stamp matches pyproject.toml), so only the apt-get part runs.
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()[:16]
    (venv / ".localcvm-installed-test").write_text(digest + "\n")
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", LOCALCVM_VENV=str(venv))
    done = subprocess.run(
        ["bash", "-c", f'source {REPO}/scripts/bootstrap.sh && bootstrap test "fakepkg-for-test:false"'],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    calls = log.read_text().splitlines()
    assert [c.split()[2] for c in calls] == ["update", "install"], calls
    assert all(c.startswith("-o DPkg::Lock::Timeout=300 ") for c in calls), calls
    assert "fakepkg-for-test" in calls[1].split()

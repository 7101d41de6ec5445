"""The test command installs what these tests need: Debian's nodejs and npm when missing (its
apt-get waiting for another apt-get's dpkg lock instead of failing at once), then the pinned
Node.js SDK once per cache; a missing node or npm fails with a message naming it."""

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


def test_node_sdk_install_names_what_is_missing(tmp_path, monkeypatch):
    import pytest

    from .node import install_node_sdk

    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("LOCALCVM_NODE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(RuntimeError, match="`node` is not installed.*nodejs and npm"):
        install_node_sdk()


def test_node_sdk_is_installed_once(tmp_path, monkeypatch):
    """A cache that holds the pinned version is used as it is: npm is not run again."""
    from .node import NODE_SDK, NODE_SDK_VERSION, install_node_sdk

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("node", "npm"):
        (bin_dir / tool).write_text("#!/bin/sh\nexit 1\n")  # npm would fail the install
        (bin_dir / tool).chmod(0o755)
    prefix = tmp_path / "cache" / f"{NODE_SDK}-{NODE_SDK_VERSION}"
    (prefix / "node_modules" / NODE_SDK).mkdir(parents=True)
    (prefix / "node_modules" / NODE_SDK / "package.json").write_text(f'{{"version": "{NODE_SDK_VERSION}"}}')
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("LOCALCVM_NODE_CACHE", str(tmp_path / "cache"))
    assert install_node_sdk() == prefix

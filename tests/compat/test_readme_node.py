"""The README's "Other SDKs and Terraform" blocks that tests/compat/test_readme.py cannot run:
the Node.js snippet runs with node against a fresh server, the /etc/hosts line is what
``localcvm hosts`` prints (``localcvm.api.hostnames.hosts_lines``)."""

from __future__ import annotations

import json
import os
import subprocess

from localcvm.api.hostnames import hosts_lines
from tests.helpers import Server

from .test_readme import README_SERVER, REPO, SECRET_ID, SECRET_KEY, extract_blocks

SECTION = "### Other SDKs and Terraform"


def _section_blocks():
    text = (REPO / "README.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n#", start + len(SECTION))
    return extract_blocks(text[start:end if end != -1 else None], "README.md")


def test_readme_node_snippet_runs(node_sdk, tmp_path):
    [block] = [b for b in _section_blocks() if b.lang == "js"]
    server = Server(data_dir=tmp_path / "data", secret_id=SECRET_ID, secret_key=SECRET_KEY).start()
    try:
        script = tmp_path / "snippet.js"
        script.write_text(block.text.replace(README_SERVER, server.endpoint))
        env = dict(os.environ, NODE_PATH=str(node_sdk / "node_modules"))
        done = subprocess.run(["node", str(script)], env=env, capture_output=True, text=True, timeout=60)
    finally:
        server.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ap-guangzhou-3" in json.loads(done.stdout)


def test_readme_hosts_line_is_what_localcvm_hosts_prints():
    import subprocess
    import sys

    [block] = [b for b in _section_blocks() if b.lang == "text"]
    assert block.text.splitlines() == hosts_lines()
    printed = subprocess.run([sys.executable, "-m", "localcvm", "hosts"], capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0 and printed.stdout.splitlines() == hosts_lines(), printed.stderr
    other = subprocess.run([sys.executable, "-m", "localcvm", "hosts", "--domain", "example.internal"],
                           capture_output=True, text=True, timeout=60)
    assert other.stdout.split()[:2] == ["127.0.0.1", "cvm.example.internal"], other.stdout

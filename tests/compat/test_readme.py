"""Docs that run: every fenced code block of README.md, and of each ``docs/*.md`` whose first line
is ``<!-- runnable -->``, runs in document order against a fresh ``localcvm serve``, so a snippet
that stops working fails the suite.

How a document runs:

- A fresh server per document and backend (``backend`` of tests/conftest.py: SQLite, and a new
  PostgreSQL database), with its own data dir, on a free port, with the Quick start's root key
  ``AKIDlocal``/``localsecret``.
- The snippets' addresses are substituted in the block text before it runs (the test never
  needs port 4570 or 8000 to be free): ``127.0.0.1:4570`` becomes the test server's endpoint, and
  ``127.0.0.1:8000`` a static file server the test starts on the scratch directory, which is what
  the README's ``python3 -m http.server 8000`` line does in the reader's other terminal.
- Blocks run in a scratch directory that stands for the checkout: ``.venv`` there links to the
  virtualenv running the tests, so ``.venv/bin/localcvm`` works as written; that ``bin`` is also
  first on ``PATH``. The environment is the one the README tells a reader whose server uses
  another data dir, port or database to set: ``LOCALCVM_DATA_DIR``, ``LOCALCVM_PORT`` and (on
  PostgreSQL) ``LOCALCVM_DATABASE_URL`` of the test server (no ``LOCALCVM_*``/``TENCENTCLOUD_*`` variable is inherited from the test process); ``HOME`` is
  a scratch directory.
- ``python`` blocks run in ONE interpreter session per document (a subprocess of the same
  Python, with the official SDK), so later blocks see earlier names, as in a reader's session.
  ``sh``/``bash``/``shell`` blocks run through ``bash -euo pipefail -c``.
- A block right after ``<!-- not run in CI: REASON -->`` (blank lines between allowed) is
  skipped and listed in the test's output. Nothing else is skipped: a block in a language with
  no runner (or with no language) fails the test unless it is marked that way.
- A block that fails fails the test with the block's text and its output.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import Server

REPO = Path(__file__).resolve().parents[2]
RUNNABLE_MARK = "<!-- runnable -->"
SKIP_MARK = re.compile(r"^<!--\s*not run in CI:\s*(?P<reason>\S.*?)\s*-->$")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
PYTHON = {"python", "py", "python3"}
SHELL = {"sh", "bash", "shell"}
README_SERVER = "127.0.0.1:4570"   # what the snippets call the server
README_FILES = "127.0.0.1:8000"    # what the snippets call the image file server
SECRET_ID, SECRET_KEY = "AKIDlocal", "localsecret"
SH_TIMEOUT = 300
PY_TIMEOUT = 600


@dataclass
class Block:
    doc: str
    line: int          # 1-based line of the opening fence
    lang: str
    text: str
    skip: str | None   # the reason of a "not run in CI" marker

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line} ({self.lang or 'no language'})"


def extract_blocks(markdown: str, doc: str = "<doc>") -> list[Block]:
    """Every fenced code block (``` or ~~~, CommonMark rules for the closing fence), in order."""
    lines = markdown.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or (m["fence"][0] == "`" and "`" in m["info"]):
            i += 1
            continue
        fence, indent, start = m["fence"], len(m["indent"]), i
        body: list[str] = []
        i += 1
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        while i < len(lines) and not closing.match(lines[i]):
            line = lines[i]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
            i += 1
        i += 1  # the closing fence (or the end of the document)
        prev = start - 1
        while prev >= 0 and not lines[prev].strip():
            prev -= 1
        mark = SKIP_MARK.match(lines[prev].strip()) if prev >= 0 else None
        lang = (m["info"].split() or [""])[0].lower()
        blocks.append(Block(doc, start + 1, lang, "\n".join(body) + "\n", mark["reason"] if mark else None))
    return blocks


def documents() -> list[Path]:
    docs = [REPO / "README.md"]
    for path in sorted((REPO / "docs").glob("*.md")):
        first = next((ln.strip() for ln in path.read_text().splitlines() if ln.strip()), "")
        if first == RUNNABLE_MARK:
            docs.append(path)
    return docs


# --- the runners --------------------------------------------------------------------------------

# One interpreter session: reads {"name", "code"} lines on stdin, execs each in the same namespace,
# answers {"ok": bool} on the file descriptor given as argv[1]. Its output goes to a log file.
SESSION = r"""
import json, os, sys, traceback
answers = os.fdopen(int(sys.argv[1]), "w")
namespace = {"__name__": "__main__"}
for request in sys.stdin:
    request = json.loads(request)
    ok = True
    try:
        exec(compile(request["code"], request["name"], "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        ok = False
    sys.stdout.flush()
    sys.stderr.flush()
    answers.write(json.dumps({"ok": ok}) + "\n")
    answers.flush()
"""


class PythonSession:
    def __init__(self, cwd: Path, env: dict, log: Path):
        self.log = log
        read_fd, write_fd = os.pipe()
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-u", "-c", SESSION, str(write_fd)], cwd=cwd, env=env, stdin=subprocess.PIPE,
                stdout=out, stderr=subprocess.STDOUT, pass_fds=(write_fd,), text=True,
            )
        os.close(write_fd)
        self.answers = os.fdopen(read_fd, "r")

    def run(self, block: Block, code: str) -> tuple[bool, str]:
        start = self.log.stat().st_size
        self.proc.stdin.write(json.dumps({"name": f"<{block.where}>", "code": code}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.answers], [], [], PY_TIMEOUT)
        line = self.answers.readline() if ready else ""
        with open(self.log, "rb") as fh:
            fh.seek(start)
            output = fh.read().decode(errors="replace")
        if not ready:
            return False, output + f"\n[timed out after {PY_TIMEOUT} s]"
        if not line:
            return False, output + f"\n[the interpreter exited with {self.proc.wait()}]"
        return json.loads(line)["ok"], output

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.answers.close()


def run_shell(code: str, cwd: Path, env: dict) -> tuple[bool, str]:
    try:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=SH_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        return False, (exc.stdout or b"").decode(errors="replace") + f"\n[timed out after {SH_TIMEOUT} s]"
    return done.returncode == 0, done.stdout + ("" if done.returncode == 0 else f"\n[exit status {done.returncode}]")


@contextmanager
def static_files(root: Path):
    """What ``python3 -m http.server --bind 127.0.0.1`` serves, on a free port."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = partial(Quiet, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def reader_env(server: Server, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCALCVM_", "TENCENTCLOUD_"))}
    venv_bin = str(Path(sys.executable).parent)
    env.update(PATH=venv_bin + os.pathsep + env.get("PATH", "/usr/bin:/bin"), HOME=str(home),
               LOCALCVM_DATA_DIR=str(server.data_dir), LOCALCVM_PORT=str(server.port))
    if server.database_url:
        env["LOCALCVM_DATABASE_URL"] = server.database_url
    return env


def run_document(blocks: list[Block], tmp_path: Path, database_url: str = "") -> list[str]:
    """Run ``blocks`` (one document's); returns a failure report per failed block."""
    unrunnable = [b for b in blocks if not b.skip and b.lang not in PYTHON | SHELL]
    if unrunnable:
        return [f"--- {b.where}: no runner for this language: mark the block "
                f"`<!-- not run in CI: REASON -->` if it cannot run\n{b.text}" for b in unrunnable]
    scratch, home = tmp_path / "checkout", tmp_path / "home"
    scratch.mkdir()
    home.mkdir()
    (scratch / ".venv").symlink_to(Path(sys.executable).parent.parent)
    server = Server(data_dir=tmp_path / "data", database_url=database_url, secret_id=SECRET_ID,
                    secret_key=SECRET_KEY).start()
    failures: list[str] = []
    session = None
    try:
        with static_files(scratch) as files:
            env = reader_env(server, home)
            for block in blocks:
                if block.skip:
                    continue
                code = block.text.replace(README_SERVER, server.endpoint).replace(README_FILES, files)
                if block.lang in PYTHON:
                    session = session or PythonSession(scratch, env, tmp_path / "python-session.log")
                    ok, output = session.run(block, code)
                else:
                    ok, output = run_shell(code, scratch, env)
                if not ok:
                    failures.append(f"--- {block.where} failed\n{block.text}--- its output:\n{output}")
                    break  # later blocks depend on this one
    finally:
        if session:
            session.close()
        server.stop()
    if failures:
        failures.append(f"--- server log (last 4000 characters):\n{server.log()[-4000:]}")
    return failures


# --- the tests ----------------------------------------------------------------------------------

@pytest.mark.parametrize("doc", documents(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_code_block_runs(doc: Path, backend, request, tmp_path):
    blocks = extract_blocks(doc.read_text(), doc.relative_to(REPO).as_posix())
    database_url = request.getfixturevalue("postgres_cluster").create_database() if backend == "postgres" else ""
    failures = run_document(blocks, tmp_path, database_url)
    for block in blocks:
        if block.skip:
            print(f"not run: {block.where}: {block.skip}")
    assert any(not b.skip for b in blocks) or not blocks, f"{doc.name}: every block is marked not run"
    assert not failures, "\n".join(failures)


SAMPLE = """\
<!-- runnable -->
Intro.

```python
x = 1
```

<!-- not run in CI: starts the service itself -->

```sh
scripts/serve
```

  ~~~bash extra info
  echo "$HOME"
  ```not a fence
  ~~~
```
bare
````
"""


def test_extractor_reads_fences_languages_and_markers():
    blocks = extract_blocks(SAMPLE, "sample.md")
    assert [(b.line, b.lang, b.skip) for b in blocks] == [
        (4, "python", None), (10, "sh", "starts the service itself"), (14, "bash", None), (18, "", None)]
    assert blocks[0].text == "x = 1\n"
    assert blocks[2].text == 'echo "$HOME"\n```not a fence\n'
    assert blocks[3].text == "bare\n"


def test_unmarked_block_without_runner_fails(tmp_path):
    blocks = extract_blocks("```hcl\nprovider \"tencentcloud\" {}\n```\n\n```\nbare\n```\n", "doc.md")
    failures = run_document(blocks, tmp_path)
    assert len(failures) == 2 and all("no runner for this language" in f for f in failures)

"""<data-dir>/server.json: how clients find the server running on a data dir."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from localcvm.client import find_server
from localcvm.config import SERVER_RECORD, remove_server_record, running_server, write_server_record


def test_a_record_is_written_whole_private_and_found(tmp_path):
    path = write_server_record(tmp_path, scheme="https", host="0.0.0.0", port=14570,
                               database_url="postgresql+psycopg://u:pw@h/db")
    assert path == tmp_path / SERVER_RECORD
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [SERVER_RECORD]  # no temporary file left
    record = running_server(tmp_path)
    assert record["pid"] == os.getpid() and record["database_url"].endswith("/db")
    found = find_server(tmp_path)
    assert (found.scheme, found.host, found.port) == ("https", "127.0.0.1", 14570)  # wildcard -> loopback
    assert found.url == "https://127.0.0.1:14570"
    remove_server_record(tmp_path)
    assert running_server(tmp_path) is None and not path.exists()


def test_stale_malformed_and_foreign_records(tmp_path):
    assert running_server(tmp_path) is None  # none at all
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / SERVER_RECORD).write_text(json.dumps({"port": 1, "pid": dead.pid}))
    assert running_server(tmp_path) is None
    (tmp_path / SERVER_RECORD).write_text("{not json")
    assert running_server(tmp_path) is None
    # another live process's record is not removed by this one
    (tmp_path / SERVER_RECORD).write_text(json.dumps({"port": 1, "pid": os.getppid(), "host": "::"}))
    remove_server_record(tmp_path)
    assert running_server(tmp_path)["pid"] == os.getppid()
    assert find_server(tmp_path).netloc == "[::1]:1"

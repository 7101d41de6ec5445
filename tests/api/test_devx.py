"""Issue 17, developer experience: the server is found from its data dir, help creates no state,
a busy port fails before "listening", --version, JSON console lines, serve --ephemeral."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from tencentcloud.cvm.v20170312 import models

from tests.helpers import ROOT_SECRET_ID, ROOT_SECRET_KEY, free_port, wait_until

from . import sdk


def clean_env(home: Path, **extra) -> dict:
    """The environment of a new user: no LOCALCVM_* or TENCENTCLOUD_* settings, HOME of its own."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LOCALCVM_", "TENCENTCLOUD_")) and k != "XDG_DATA_HOME"}
    env["HOME"] = str(home)
    env.update(extra)
    return env


def localcvm(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "localcvm", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_tccli_accounts_images_find_the_running_server(make_server, tmp_path):
    """Acceptance 5: a server on a non-default port and data dir; `localcvm tccli cvm DescribeRegions`
    with only --data-dir (or LOCALCVM_DATA_DIR) works, and names what to set when nothing runs."""
    srv = make_server()
    record = json.loads((srv.data_dir / "server.json").read_text())
    assert record["port"] == srv.port and record["pid"] == srv.proc.pid and record["scheme"] == "http"
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    done = localcvm("tccli", "--data-dir", str(srv.data_dir), "cvm", "DescribeRegions", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["TotalCount"] >= 10
    by_env = localcvm("tccli", "cvm", "DescribeZones", env=dict(env, LOCALCVM_DATA_DIR=str(srv.data_dir)))
    assert by_env.returncode == 0, by_env.stdout + by_env.stderr
    # accounts and images use the running server's database (PostgreSQL too) with the data dir alone
    listed = localcvm("accounts", "list", "--json", "--data-dir", str(srv.data_dir), env=env)
    assert listed.returncode == 0, listed.stderr
    assert [a["SecretIds"] for a in json.loads(listed.stdout)] == [[ROOT_SECRET_ID]]
    shown = localcvm("images", "show", "img-00000000", "--data-dir", str(srv.data_dir), env=env)
    assert shown.returncode == 2 and "no custom image img-00000000" in shown.stderr
    assert not (home / ".local").exists()

    srv.stop()
    assert not (srv.data_dir / "server.json").exists()  # removed on a clean exit
    gone = localcvm("tccli", "--data-dir", str(srv.data_dir), "cvm", "DescribeRegions", env=env)
    assert gone.returncode == 2
    assert "no localcvm server is running" in gone.stderr
    for hint in ("--data-dir", "LOCALCVM_DATA_DIR", "--lc-endpoint", "localcvm serve"):
        assert hint in gone.stderr, hint


def test_a_stale_record_is_ignored(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (data / "server.json").write_text(json.dumps({"scheme": "http", "host": "127.0.0.1", "port": free_port(),
                                                  "pid": dead.pid, "database_url": ""}))
    done = localcvm("tccli", "--data-dir", str(data), "cvm", "DescribeRegions", env=clean_env(tmp_path))
    assert done.returncode == 2 and "no localcvm server is running" in done.stderr


def test_help_creates_no_state_and_shows_the_lc_options(tmp_path):
    env = clean_env(tmp_path)
    tccli_help = localcvm("tccli", "--help", env=env)
    assert tccli_help.returncode == 0, tccli_help.stderr
    for option in ("--lc-endpoint", "--lc-tls", "--lc-data-dir", "--lc-database-url"):
        assert option in tccli_help.stdout, option
    for args in (["--help"], ["accounts", "--help"], ["accounts", "keys", "list", "--help"],
                 ["images", "gc", "--help"], ["reset", "--help"], ["serve", "--help"], ["tccli"]):
        assert localcvm(*args, env=env).returncode in (0, 2), args
    assert not (tmp_path / ".local").exists(), list(tmp_path.rglob("*"))


def test_version_flag():
    from localcvm import __version__

    done = subprocess.run([sys.executable, "-m", "localcvm", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == __version__


def test_cross_border_help_cites_no_rule_number(tmp_path):
    done = localcvm("accounts", "allow-cross-border", "--help", env=clean_env(tmp_path))
    assert done.returncode == 0
    assert "R15" not in done.stdout and "PRODUCT" not in done.stdout
    assert "UnsupportedOperation.Region" in " ".join(done.stdout.split())


def test_a_busy_port_fails_before_saying_it_listens(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = localcvm("serve", "--port", str(port), "--data-dir", str(tmp_path / "d"), env=clean_env(tmp_path),
                        timeout=60)
    assert done.returncode == 2
    assert "listening on" not in done.stdout
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert not (tmp_path / "d").exists()


def test_console_lines_are_all_json(make_server):
    srv = make_server()
    sdk.cvm(srv).DescribeRegions(models.DescribeRegionsRequest())
    srv.stop()
    lines = srv.log().splitlines()
    start = next(i for i, line in enumerate(lines) if "listening on" in line)
    logged = [json.loads(line) for line in lines[start + 1:] if line.strip()]  # each one parses
    messages = " ".join(str(entry.get("message", "")) for entry in logged)
    assert "Application startup complete" in messages and "Application shutdown complete" in messages
    assert any(entry.get("action") == "DescribeRegions" for entry in logged)


def test_ephemeral_leaves_nothing_behind(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = clean_env(tmp_path, TMPDIR=str(temp), LOCALCVM_SECRET_ID=ROOT_SECRET_ID, LOCALCVM_SECRET_KEY=ROOT_SECRET_KEY)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "localcvm", "serve", "--ephemeral", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/_localcvm/health", timeout=2).status_code == 200,
                   timeout=60, what="the ephemeral server")
        made = list(temp.iterdir())
        assert len(made) == 1 and made[0].name.startswith("localcvm-ephemeral-")
        assert (made[0] / "server.json").exists()

        class Where:
            endpoint, scheme, tls = f"127.0.0.1:{port}", "http", False
            secret_id, secret_key = ROOT_SECRET_ID, ROOT_SECRET_KEY

        client = sdk.cvm(Where)
        req = models.CreateKeyPairRequest()
        req.KeyName, req.ProjectId = "eph", 0
        client.CreateKeyPair(req)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert list(temp.iterdir()) == []
    assert not (tmp_path / ".local").exists()


def test_ephemeral_refuses_a_data_dir(tmp_path):
    done = localcvm("serve", "--ephemeral", "--data-dir", str(tmp_path / "x"), "--port", str(free_port()),
                    env=clean_env(tmp_path), timeout=60)
    assert done.returncode == 2 and "--ephemeral" in done.stderr


def test_exports_are_all_0644_and_a_raw_file_of_any_size_imports(server, files, tmp_path):
    """A raw disk whose size is no multiple of 512 bytes imports (qemu-img reads it as whole sectors);
    every export format is published 0644 (RAW was 0600)."""
    import stat
    import uuid

    from .images_util import import_image, new_account, wait_image

    raw = tmp_path / "odd.raw"
    raw.write_bytes(b"localcvm" * 131072 + b"tail" * 25)  # 1 MiB + 100 bytes
    url = files.add(f"{uuid.uuid4().hex[:6]}-odd.raw", raw)
    _acct, client_for = new_account(server, f"odd-{uuid.uuid4().hex[:6]}")
    client = client_for()
    image_id = import_image(client, url, "odd-size")
    img = wait_image(client, image_id)
    assert img.ImageState == "NORMAL", img.to_json_string()
    bucket = f"bucket-{uuid.uuid4().hex[:6]}"
    for fmt in ("RAW", "QCOW2", "VMDK", "VHD"):
        req = models.ExportImagesRequest()
        req.from_json_string(json.dumps({"BucketName": bucket, "ImageIds": [image_id], "ExportFormat": fmt,
                                         "FileNamePrefixList": [fmt.lower()]}))
        out = server.data_dir / "cos" / bucket / client.ExportImages(req).CosPaths[0]
        wait_until(out.exists, timeout=120, what=f"export {out}")
        assert stat.S_IMODE(out.stat().st_mode) == 0o644, (fmt, oct(out.stat().st_mode))


def test_tccli_finds_a_tls_server(make_server, tmp_path):
    srv = make_server(tls=True)
    done = localcvm("tccli", "--data-dir", str(srv.data_dir), "cvm", "DescribeRegions", env=clean_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["TotalCount"] >= 10

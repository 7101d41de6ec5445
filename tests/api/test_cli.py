"""`localcvm doctor` and `--help` texts."""

from __future__ import annotations

import json
import shutil


def test_doctor_reports_each_check(make_server):
    srv = make_server()
    done = srv.cli("doctor", "--json", check=False)
    checks = {c["check"]: c for c in json.loads(done.stdout)}
    assert set(checks) >= {"qemu-img", "qemu-system-x86_64", "kvm", "data dir", "database", "api specs"}
    assert checks["database"]["status"] == "OK"
    assert checks["data dir"]["status"] == "OK"
    assert checks["api specs"]["status"] == "OK" and "cvm 2017-03-12" in checks["api specs"]["detail"]
    assert checks["qemu-img"]["status"] == ("OK" if shutil.which("qemu-img") else "FAIL")
    assert done.returncode == (0 if all(c["status"] != "FAIL" for c in checks.values()) else 1)


def test_doctor_reports_a_broken_database(tmp_path):
    from tests.helpers import Server

    srv = Server(data_dir=tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    done = srv.cli("doctor", "--json", check=False)
    checks = {c["check"]: c for c in json.loads(done.stdout)}
    assert checks["database"]["status"] == "FAIL"
    assert done.returncode == 1


def test_help_texts(server):
    out = server.cli("--help").stdout
    for cmd in ("serve", "accounts", "doctor", "tccli"):
        assert cmd in out
    serve_help = server.cli("serve", "--help").stdout
    for flag in ("--host", "--port", "--data-dir", "--database-url", "--tls"):
        assert flag in serve_help
    # the env variables and defaults in brackets are printed, not swallowed as console markup
    flat = " ".join(serve_help.split())
    for text in ("[env LOCALCVM_HOST; default 127.0.0.1]", "[env LOCALCVM_PORT; default 4570]",
                 "[env LOCALCVM_DATA_DIR; default ~/.local/share/localcvm]", "[env LOCALCVM_DATABASE_URL;"):
        assert text in flat, text


def test_help_texts_of_the_connection_bounds_and_keys(server):
    flat = " ".join(server.cli("serve", "--help").stdout.split())
    for text in ("--header-timeout", "[env LOCALCVM_HEADER_TIMEOUT; default 10]", "--body-timeout",
                 "[env LOCALCVM_BODY_TIMEOUT; default 60]", "--keepalive-timeout",
                 "[env LOCALCVM_KEEPALIVE_TIMEOUT; default 5]", "--max-connections",
                 "[env LOCALCVM_MAX_CONNECTIONS; default 1000]"):
        assert text in flat, text
    keys_help = server.cli("accounts", "keys", "--help").stdout
    for cmd in ("list", "create", "disable", "enable", "delete"):
        assert cmd in keys_help

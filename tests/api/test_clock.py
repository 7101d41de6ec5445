"""The test clock: off by default; with --test-clock, `localcvm clock advance` and POST /_localcvm/clock
move it forward, it survives a SIGKILL of the server, and only a root key may move it."""

from __future__ import annotations

import signal
from datetime import datetime

import pytest

from localcvm.client import Endpoint, advance_clock

from .images_util import new_account


def endpoint(srv) -> Endpoint:
    return Endpoint(srv.scheme, "127.0.0.1", srv.port)


def read(srv) -> dict:
    return advance_clock(endpoint(srv), srv.secret_id, srv.secret_key, None)


def test_clock_is_fixed_without_the_flag(make_server):
    srv = make_server()
    answer = advance_clock(endpoint(srv), srv.secret_id, srv.secret_key, "3h")
    assert answer["Error"]["Code"] == "UnsupportedOperation"
    assert read(srv)["OffsetSeconds"] == 0


def test_clock_moves_forward_and_survives_a_kill(make_server):
    srv = make_server(extra_env={"LOCALCVM_TEST_CLOCK": "1"})
    before = datetime.strptime(read(srv)["Now"], "%Y-%m-%dT%H:%M:%SZ")
    moved = advance_clock(endpoint(srv), srv.secret_id, srv.secret_key, "3h")
    assert moved["OffsetSeconds"] == 3 * 3600
    assert (datetime.strptime(moved["Now"], "%Y-%m-%dT%H:%M:%SZ") - before).total_seconds() >= 3 * 3600
    done = srv.cli("clock", "advance", "90m", "--json")
    assert '"OffsetSeconds": 16200.0' in done.stdout
    assert read(srv)["OffsetSeconds"] == 16200  # the server reads what the CLI wrote
    srv.stop(signal.SIGKILL)
    srv.start()
    assert read(srv)["OffsetSeconds"] == 16200


@pytest.mark.parametrize("bad", ["-3h", "0", "soon", "1000000w"])
def test_bad_durations_are_refused(make_server, bad):
    srv = make_server(extra_env={"LOCALCVM_TEST_CLOCK": "1"})
    answer = advance_clock(endpoint(srv), srv.secret_id, srv.secret_key, bad)
    assert answer["Error"]["Code"] == "InvalidParameterValue"
    assert read(srv)["OffsetSeconds"] == 0
    assert srv.cli("clock", "advance", bad, check=False).returncode != 0


def test_only_the_root_account_moves_the_clock(make_server):
    srv = make_server(extra_env={"LOCALCVM_TEST_CLOCK": "1"})
    other, _client = new_account(srv, "clockwatcher")
    answer = advance_clock(endpoint(srv), other["SecretId"], other["SecretKey"], "1h")
    assert answer["Error"]["Code"].startswith("AuthFailure")
    assert read(srv)["OffsetSeconds"] == 0

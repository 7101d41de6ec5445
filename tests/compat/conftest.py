"""Fixtures of the client-compatibility tests: the Node.js SDK from npm, a TLS server, HTTP or HTTPS."""

from __future__ import annotations

import pytest

from tests.helpers import Server

from .node import install_node_sdk


@pytest.fixture(scope="session")
def node_sdk():
    """The npm prefix holding tencentcloud-sdk-nodejs (installed once, kept in a cache dir)."""
    try:
        return install_node_sdk()
    except RuntimeError as exc:  # npm missing or the install failed: a failure, never a silent skip
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def tls_server(backend, request, tmp_path_factory):
    """A ``serve --tls`` server per backend for the whole session; clients trust its CA."""
    url = request.getfixturevalue("postgres_cluster").create_database() if backend == "postgres" else ""
    srv = Server(data_dir=tmp_path_factory.mktemp(f"tls-{backend}"), database_url=url, tls=True)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(params=["http", "https"])
def any_server(request, backend):
    """The session's plain server, then its TLS server."""
    return request.getfixturevalue("server" if request.param == "http" else "tls_server")

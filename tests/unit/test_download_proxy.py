"""Which proxy an import's download uses, from the environment as other HTTP clients read it."""

from __future__ import annotations

import pytest

from localcvm.services.images.download import proxy_for

ENV = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "all_proxy", "ALL_PROXY")


@pytest.fixture
def env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_proxy_configured_means_direct(env):
    assert proxy_for("http://images.example/disk.raw") is None


def test_each_scheme_takes_its_own_proxy(env):
    env.setenv("HTTP_PROXY", "http://p1:3128")
    env.setenv("https_proxy", "p2:8080")  # without a scheme: http:// is meant
    assert proxy_for("http://images.example/disk.raw") == "http://p1:3128"
    assert proxy_for("https://images.example/disk.raw") == "http://p2:8080"


def test_no_proxy_and_loopback_are_reached_directly(env):
    env.setenv("http_proxy", "http://p1:3128")
    env.setenv("no_proxy", "mirror.internal,.corp.example")
    assert proxy_for("http://mirror.internal/disk.raw") is None
    assert proxy_for("http://images.corp.example/disk.raw") is None
    assert proxy_for("http://images.example/disk.raw") == "http://p1:3128"
    for host in ("127.0.0.1", "127.9.9.9", "localhost", "[::1]", "files.localhost"):
        assert proxy_for(f"http://{host}:8000/disk.raw") is None, host

"""The console's own small rules: where a sign-in may send the browser, the rate limiter, origins."""

from __future__ import annotations

from types import SimpleNamespace

from localcvm.console.auth import SigninLimiter, safe_next, same_origin


def test_sign_in_only_redirects_inside_the_console():
    assert safe_next("/console/images?tab=PRIVATE_IMAGE") == "/console/images?tab=PRIVATE_IMAGE"
    for bad in ("https://evil.example/", "//evil.example/console/", "/console/..//evil", "/other", "", None,
                "/console/\\evil"):
        assert safe_next(bad) == "/console/instances", bad


def test_limiter_counts_failures_per_address_and_forgets_quiet_ones():
    limiter = SigninLimiter(2)
    assert not limiter.blocked("10.0.0.1")
    limiter.failed("10.0.0.1")
    limiter.failed("10.0.0.1")
    assert limiter.blocked("10.0.0.1") and not limiter.blocked("10.0.0.2")
    assert "10.0.0.2" not in limiter.failures


def request(headers: dict):
    return SimpleNamespace(headers=headers)


def test_same_origin_uses_origin_then_referer():
    assert same_origin(request({"host": "127.0.0.1:4570", "origin": "http://127.0.0.1:4570"}))
    assert not same_origin(request({"host": "127.0.0.1:4570", "origin": "http://127.0.0.2:4570"}))
    assert not same_origin(request({"host": "127.0.0.1:4570", "referer": "http://evil.example/x"}))
    assert same_origin(request({"host": "127.0.0.1:4570", "referer": "http://127.0.0.1:4570/console/images"}))
    assert same_origin(request({"host": "127.0.0.1:4570"}))  # no header: the CSRF token alone decides

"""Helpers for the web console tests: console passwords, sign-in over plain HTTP, CSRF tokens."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def set_password(server, owner: str, password: str) -> None:
    subprocess.run([sys.executable, "-m", "localcvm", "accounts", "password", owner, "--password-stdin"],
                   input=password + "\n", env=server.env(), capture_output=True, text=True, check=True, timeout=60)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def signin(server, owner: str, password: str, **client_kw) -> httpx.Client:
    """An HTTP client signed in to the console (its cookies hold the session)."""
    c = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30, **client_kw)
    form = c.get("/console/signin")
    r = c.post("/console/signin", data={"csrf": csrf_of(form.text), "mode": "password", "owner": owner,
                                        "password": password})
    assert r.status_code == 303, r.text[-500:]
    return c


def page_csrf(c: httpx.Client, path: str = "/console/instances") -> str:
    r = c.get(path)
    assert r.status_code == 200, r.text[-500:]
    return csrf_of(r.text)

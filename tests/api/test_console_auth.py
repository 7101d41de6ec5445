"""Console sign-in over HTTP: passwords and keys, sessions, CSRF, idle timeout, rate limit."""

from __future__ import annotations

import re

import httpx

from tests.api.share_util import accounts, client
from tests.console_util import csrf_of, page_csrf, set_password, signin

PASSWORD = "Console-pass-1"


def test_root_signs_in_with_its_console_password_and_the_cookie_is_locked_down(server):
    [a] = accounts(server, 1, "con-pw")
    set_password(server, a["Name"], PASSWORD)
    c = httpx.Client(base_url=server.url, follow_redirects=False)
    assert c.get("/console/images").headers["location"].startswith("/console/signin?next=")
    form = c.get("/console/signin")
    r = c.post("/console/signin", data={"csrf": csrf_of(form.text), "owner": a["Uin"], "password": PASSWORD,
                                        "next": "/console/images"})
    assert r.status_code == 303 and r.headers["location"] == "/console/images"
    cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("lcvm_session=")][0]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/console" in cookie
    page = c.get("/console/images")
    assert page.status_code == 200 and a["Name"] in page.text and a["Uin"] in page.text


def test_wrong_password_unknown_account_and_sub_user_are_refused(server):
    [a] = accounts(server, 1, "con-bad")
    set_password(server, a["Name"], PASSWORD)
    for owner, user, password in ((a["Name"], "", "wrong-password"), ("no-such-account", "", PASSWORD),
                                  (a["Name"], "dev", PASSWORD)):
        c = httpx.Client(base_url=server.url, follow_redirects=False)
        form = c.get("/console/signin")
        r = c.post("/console/signin", data={"csrf": csrf_of(form.text), "owner": owner, "user": user,
                                            "password": password})
        assert r.status_code == 401, (owner, user)
        assert "lcvm_session" not in c.cookies


def test_key_pair_signs_in(server):
    [a] = accounts(server, 1, "con-key")
    c = httpx.Client(base_url=server.url, follow_redirects=False)
    form = c.get("/console/signin?mode=key")
    bad = c.post("/console/signin", data={"csrf": csrf_of(form.text), "mode": "key", "secret_id": a["SecretId"],
                                          "secret_key": a["SecretKey"][:-1] + "x"})
    assert bad.status_code == 401
    r = c.post("/console/signin", data={"csrf": csrf_of(form.text), "mode": "key", "secret_id": a["SecretId"],
                                        "secret_key": a["SecretKey"]})
    assert r.status_code == 303
    assert a["Uin"] in c.get("/console/instances").text


def test_sign_in_form_without_its_token_is_refused(server):
    [a] = accounts(server, 1, "con-pre")
    set_password(server, a["Name"], PASSWORD)
    c = httpx.Client(base_url=server.url, follow_redirects=False)
    r = c.post("/console/signin", data={"owner": a["Name"], "password": PASSWORD})
    assert r.status_code == 403 and "lcvm_session" not in c.cookies


def test_state_changing_posts_need_the_sessions_csrf_token_and_origin(server):
    [a] = accounts(server, 1, "con-csrf")
    set_password(server, a["Name"], PASSWORD)
    c = signin(server, a["Name"], PASSWORD)
    token = page_csrf(c, "/console/keypairs")
    assert c.post("/console/keypairs", data={"name": "nocsrf"}).status_code == 403
    assert c.post("/console/keypairs", data={"name": "badcsrf", "csrf": "x" * 43}).status_code == 403
    foreign = c.post("/console/keypairs", data={"name": "foreign", "csrf": token},
                     headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    keys = client(server, a).DescribeKeyPairs(_req("DescribeKeyPairsRequest")).KeyPairSet
    assert not keys, "a refused post must change nothing"
    ok = c.post("/console/keypairs", data={"name": "okkey", "csrf": token})
    assert ok.status_code == 200 and "BEGIN" in ok.text
    assert [k.KeyName for k in client(server, a).DescribeKeyPairs(_req("DescribeKeyPairsRequest")).KeyPairSet] == ["okkey"]


def test_a_session_cannot_act_for_another_account(server):
    a, b = accounts(server, 2, "con-iso")
    set_password(server, a["Name"], PASSWORD)
    set_password(server, b["Name"], PASSWORD)
    ca, cb = signin(server, a["Name"], PASSWORD), signin(server, b["Name"], PASSWORD)
    key_b = client(server, b).CreateKeyPair(_req("CreateKeyPairRequest", KeyName="bkey", ProjectId=0)).KeyPair.KeyId
    # A's session with A's token cannot delete B's key pair: the API answers as for A
    r = ca.post(f"/console/keypairs/{key_b}/delete", data={"csrf": page_csrf(ca)})
    assert r.status_code == 400 and "NotFound" in r.text
    # A's token does not work with B's cookie
    r = cb.post(f"/console/keypairs/{key_b}/delete", data={"csrf": page_csrf(ca)})
    assert r.status_code == 403
    assert [k.KeyId for k in client(server, b).DescribeKeyPairs(_req("DescribeKeyPairsRequest")).KeyPairSet] == [key_b]


def test_sign_out_ends_the_session_server_side(server):
    [a] = accounts(server, 1, "con-out")
    set_password(server, a["Name"], PASSWORD)
    c = signin(server, a["Name"], PASSWORD)
    token, cookie = page_csrf(c), c.cookies["lcvm_session"]
    assert c.post("/console/signout", data={"csrf": token}).status_code == 303
    replay = httpx.Client(base_url=server.url, follow_redirects=False, cookies={"lcvm_session": cookie})
    assert replay.get("/console/instances").status_code == 303


def test_new_password_signs_old_sessions_out(server):
    [a] = accounts(server, 1, "con-rot")
    set_password(server, a["Name"], PASSWORD)
    c = signin(server, a["Name"], PASSWORD)
    set_password(server, a["Name"], PASSWORD + "2")
    assert c.get("/console/instances").status_code == 303


def test_idle_sessions_expire_by_the_clock(make_server):
    srv = make_server(extra_env={"LOCALCVM_TEST_CLOCK": "1", "LOCALCVM_CONSOLE_IDLE_MINUTES": "10"})
    set_password(srv, "root", PASSWORD)
    c = signin(srv, "root", PASSWORD)
    srv.cli("clock", "advance", "9m")
    assert c.get("/console/instances").status_code == 200  # used: the idle time restarts
    srv.cli("clock", "advance", "9m")
    assert c.get("/console/instances").status_code == 200
    srv.cli("clock", "advance", "11m")
    assert c.get("/console/instances").status_code == 303


def test_failed_sign_ins_are_rate_limited_per_address(make_server):
    srv = make_server(extra_env={"LOCALCVM_CONSOLE_SIGNIN_PER_MINUTE": "3"})
    set_password(srv, "root", PASSWORD)
    c = httpx.Client(base_url=srv.url, follow_redirects=False)
    token = csrf_of(c.get("/console/signin").text)
    codes = [c.post("/console/signin", data={"csrf": token, "owner": "root", "password": "nope-nope"}).status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    # even the right password waits out the limit
    assert c.post("/console/signin", data={"csrf": token, "owner": "root", "password": PASSWORD}).status_code == 429


def test_password_cli_refuses_short_passwords_and_unknown_accounts(server):
    import subprocess
    import sys

    for owner, pw in (("root", "short"), ("no-such-account-x", PASSWORD)):
        r = subprocess.run([sys.executable, "-m", "localcvm", "accounts", "password", owner, "--password-stdin"],
                           input=pw + "\n", env=server.env(), capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and re.search(r"8 to 128|No account", r.stderr)


def _req(name: str, **values):
    from tencentcloud.cvm.v20170312 import models

    req = getattr(models, name)()
    for k, v in values.items():
        setattr(req, k, v)
    return req


def test_cookies_are_secure_over_tls(make_server):
    srv = make_server(tls=True)
    set_password(srv, "root", PASSWORD)
    c = httpx.Client(base_url=srv.url, follow_redirects=False, verify=str(srv.ca_file))
    form = c.get("/console/signin")
    assert "Secure" in form.headers["set-cookie"]
    r = c.post("/console/signin", data={"csrf": csrf_of(form.text), "owner": "root", "password": PASSWORD})
    session = [h for h in r.headers.get_list("set-cookie") if h.startswith("lcvm_session=")][0]
    assert "Secure" in session and "HttpOnly" in session

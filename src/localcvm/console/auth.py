"""Sign-in, sign-out, session cookies, CSRF checks and the sign-in rate limit of the console."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

SESSION_COOKIE = "lcvm_session"
PRE_COOKIE = "lcvm_signin"  # double-submit token of the sign-in form (no session yet)


class SigninLimiter:
    """At most ``per_minute`` failed sign-ins per source address in any 60 seconds."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.failures: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def blocked(self, address: str) -> bool:
        with self.lock:
            recent = self._recent(address)
            if not recent:  # nothing to remember about this address
                del self.failures[address]
            return len(recent) >= self.per_minute

    def failed(self, address: str) -> None:
        with self.lock:
            self._recent(address).append(time.monotonic())

    def _recent(self, address: str) -> deque[float]:
        recent = self.failures.setdefault(address, deque())
        while recent and recent[0] < time.monotonic() - 60:
            recent.popleft()
        return recent


def cookie_flags(secure: bool) -> dict:
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": "/console"}


def same_origin(request: Request) -> bool:
    """A state-changing request must come from the console's own pages: when the browser says
    where the form was (Origin, else Referer), it must be this host."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].split("/", 1)[0] == host


def tokens_match(given: str | None, expected: str | None) -> bool:
    return bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())


def safe_next(value: str | None) -> str:
    return value if value and value.startswith("/console/") and "//" not in value and "\\" not in value else "/console/instances"


class SigninPages:
    def __init__(self, console):
        self.console = console

    async def form(self, request: Request, *, error: str = "", status: int = 200) -> Response:
        ctx = self.console.bare_context(request)
        pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
        response = self.console.render(ctx, "signin.html", {
            "error": error, "pre_token": pre, "next": safe_next(request.query_params.get("next")),
            "mode": request.query_params.get("mode", "password"),
        }, status=status)
        response.set_cookie(PRE_COOKIE, pre, max_age=3600, **cookie_flags(self.console.secure))
        return response

    async def submit(self, request: Request) -> Response:
        ctx = self.console.bare_context(request)
        form = await self.console.read_form(request)
        ip = ctx.source_ip
        t = ctx.t
        if not same_origin(request) or not tokens_match(form.get("csrf"), request.cookies.get(PRE_COOKIE)):
            return await self.form(request, error=t("signin.error.csrf"), status=403)
        limiter = self.console.limiter
        if limiter.blocked(ip):
            return await self.form(request, error=t("signin.error.limited"), status=429)
        accounts = self.console.services.accounts
        if form.get("mode") == "key":
            identity = await run_in_threadpool(accounts.key_login, form.get("secret_id", ""), form.get("secret_key", ""))
            user = ""
        else:
            user = form.get("user", "").strip()
            identity = await run_in_threadpool(accounts.console_login, form.get("owner", ""), user or None,
                                               form.get("password", ""))
        if identity is None:
            limiter.failed(ip)
            return await self.form(request, error=t("signin.error.wrong"), status=401)
        new = await run_in_threadpool(self.console.sessions.open, identity, user, ip)
        response = RedirectResponse(safe_next(form.get("next")), status_code=303)
        response.set_cookie(SESSION_COOKIE, new.token, **cookie_flags(self.console.secure))
        response.delete_cookie(PRE_COOKIE, path="/console")
        return response

    async def signout(self, request: Request) -> Response:
        ctx = await self.console.context(request)
        form = await self.console.read_form(request)
        if ctx.session is not None and same_origin(request) and tokens_match(form.get("csrf"), ctx.session.csrf_token):
            await run_in_threadpool(self.console.sessions.close, request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/console/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/console")
        return response


def signin_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/signin?next={quote(target)}", status_code=303)

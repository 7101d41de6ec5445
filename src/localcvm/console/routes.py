"""The web console at /console: a Starlette app whose every read and action is an API call.

Pages call ``Dispatcher.dispatch`` with the signed-in identity, so the console gets exactly the
validation, the errors and (with CAM) the policy checks of the API; it never reads the store.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable
from urllib.parse import parse_qs, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.routing import Mount

from ..api.dispatch import Call
from ..services.console_auth import ConsoleSessions, SessionView
from ..services.errors import ApiError, InternalError
from . import i18n
from .auth import SESSION_COOKIE, SigninLimiter, SigninPages, same_origin, signin_redirect, tokens_match

log = logging.getLogger("localcvm.console")
request_log = logging.getLogger("localcvm.request")
MAX_FORM_BYTES = 64 * 1024
DEFAULT_REGION = "ap-guangzhou"
# the left sidebar: (section, path); a product area adds its line here (its label is t("nav.<section>"))
SIDEBAR = [("instances", "/console/instances"), ("images", "/console/images"), ("snapshots", "/console/snapshots"),
           ("keypairs", "/console/keypairs")]
VERSIONS = {"cvm": "2017-03-12", "cbs": "2017-03-12", "vpc": "2017-03-12"}


NOVNC_DIR = Path("/usr/share/novnc")

class Refused(Exception):
    """A console-level refusal (bad CSRF token, foreign origin): 403 with the reason."""


@dataclass
class Ctx:
    request: Request
    console: "Console"
    lang: str
    t: i18n.Translator
    region: str
    source_ip: str
    session: SessionView | None = None
    form: dict[str, list[str]] = field(default_factory=dict)

    async def call(self, action: str, params: dict | None = None, *, service: str = "cvm",
                   region: str | None = None) -> dict:
        """One API call as the signed-in user (raises services.errors.ApiError as the API would).
        Logged like an API request (one JSON line, ``"via": "console"``) when the request log is on."""
        call = Call(
            identity=self.session.identity, service=service, action=action, version=VERSIONS[service],
            region=region or self.region, params=params or {}, request_id=str(uuid.uuid4()),
            # the API speaks en-US and zh-CN: Korean pages take the English data (names, OS names)
            language="en-US", source_ip=self.source_ip,
        )
        status = "ok"
        try:
            return await self.console.dispatcher.dispatch(call)
        except ApiError as exc:
            status = exc.code
            raise
        finally:
            if self.console.services.settings.request_log:
                request_log.info(json.dumps({
                    "request_id": call.request_id, "action": action, "service": service, "region": call.region,
                    "account": call.identity.uin, "client": self.source_ip, "via": "console", "status": status,
                }, separators=(",", ":")))

    def value(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[0].strip() if values else default

    def values(self, name: str) -> list[str]:
        return [v.strip() for v in self.form.get(name, []) if v.strip()]

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)


Page = Callable[[Ctx], Awaitable[Response]]


class Console:
    def __init__(self, api):
        self.api = api
        self.services = api.services
        self.dispatcher = api.dispatcher
        settings = self.services.settings
        self.secure = bool(settings.tls)
        self.sessions = ConsoleSessions(self.services.db, self.services.clock, settings.console_idle_minutes)
        self.limiter = SigninLimiter(settings.console_signin_per_minute)
        self.regions = self.services.regions
        # noVNC (Debian's novnc package) shows an instance's VNC console; absent: the page says so
        self.novnc = NOVNC_DIR if (NOVNC_DIR / "vnc_lite.html").is_file() else None
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("localcvm.console", "templates"),
            autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.StrictUndefined,
        )

    # --- contexts ---------------------------------------------------------------------------
    def bare_context(self, request: Request) -> Ctx:
        lang = i18n.pick_language(request.query_params.get("lang") or request.cookies.get("lcvm_lang"),
                                  request.headers.get("accept-language"))
        region = request.query_params.get("region") or request.cookies.get("lcvm_region") or DEFAULT_REGION
        if self.regions.find(region) is None:
            region = DEFAULT_REGION
        ip = request.client.host if request.client else ""
        return Ctx(request, self, lang, i18n.Translator(lang), region, ip)

    async def context(self, request: Request) -> Ctx:
        ctx = self.bare_context(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        ctx.session = await run_in_threadpool(self.sessions.resolve, token) if token else None
        return ctx

    @staticmethod
    async def read_form(request: Request) -> dict[str, str]:
        return {k: v[0] for k, v in (await read_form_lists(request)).items()}

    # --- rendering --------------------------------------------------------------------------
    def render(self, ctx: Ctx, template: str, values: dict, *, status: int = 200) -> HTMLResponse:
        page = self.templates.get_template(template)
        notice = "notice." + ctx.request.query_params.get("notice", "")
        values.setdefault("notice_text", ctx.t(notice) if ctx.t.has(notice) else "")
        values.setdefault("section", "")
        html = page.render(t=ctx.t, lang=ctx.lang, region=ctx.region, session=ctx.session,
                           regions=self.regions.all(), languages=i18n.LANGUAGE_NAMES, path=ctx.request.url.path,
                           query=ctx.request.url.query, csrf=ctx.session.csrf_token if ctx.session else "",
                           sidebar=SIDEBAR, lang_links=language_links(ctx), region_name=lambda r: region_label(ctx, r), zone_name=lambda z: zone_label(ctx, z),
                           **values)
        response = HTMLResponse(html, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'; form-action 'self'"
        response.headers["Referrer-Policy"] = "same-origin"
        if ctx.request.query_params.get("lang") in i18n.LANGUAGES:
            response.set_cookie("lcvm_lang", ctx.lang, max_age=365 * 86400, path="/console", samesite="lax")
        if ctx.request.query_params.get("region") and self.regions.find(ctx.request.query_params["region"]):
            response.set_cookie("lcvm_region", ctx.region, max_age=365 * 86400, path="/console", samesite="lax")
        return response

    def refusal(self, ctx: Ctx, exc: ApiError, back: str) -> HTMLResponse:
        key = f"error.{exc.code}"
        explain = ctx.t(key) if ctx.t.has(key) else ""
        return self.render(ctx, "error.html", {"code": exc.code, "message": exc.message, "explain": explain,
                                               "back": back}, status=500 if exc.code == "InternalError" else 400)

    # --- page wrapper -----------------------------------------------------------------------
    def page(self, fn: Page) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            ctx = await self.context(request)
            if ctx.session is None:
                if request.method == "POST":
                    return self.render(ctx, "refused.html", {"reason": ctx.t("refused.session")}, status=403)
                return signin_redirect(request)
            if request.method == "POST":
                ctx.form = await read_form_lists(request)
                if not same_origin(request) or not tokens_match(ctx.value("csrf"), ctx.session.csrf_token):
                    return self.render(ctx, "refused.html", {"reason": ctx.t("refused.csrf")}, status=403)
            try:
                return await fn(ctx)
            except ApiError as exc:
                return self.refusal(ctx, exc, request.headers.get("referer") or request.url.path)
            except Exception:  # a bug: the page says so in the console's words, the log has the trace
                log.exception("console page %s failed", request.url.path)
                return self.refusal(ctx, InternalError("The console could not show this page."), "/console/instances")

        return endpoint


def language_links(ctx: Ctx) -> dict[str, str]:
    """This page in each language (its other query parameters kept)."""
    query = [(k, v) for k, v in ctx.request.query_params.multi_items() if k not in ("lang", "notice")]
    return {code: ctx.request.url.path + "?" + urlencode(query + [("lang", code)]) for code in i18n.LANGUAGES}


def region_label(ctx: Ctx, region_id: str) -> str:
    """A region's name in the page's language (its ID when the catalogue has a region we do not name)."""
    key = f"region.{region_id}"
    return ctx.t(key) if ctx.t.has(key) else region_id


def zone_label(ctx: Ctx, zone: str) -> str:
    """``ap-guangzhou-3`` → "South China (Guangzhou) Zone 3" in the page's language."""
    region, _, n = zone.rpartition("-")
    return ctx.t("zone.name", region=region_label(ctx, region), n=n) if n.isdigit() else zone


async def read_form_lists(request: Request) -> dict[str, list[str]]:
    if request.method != "POST":
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def console_app(api) -> Starlette:
    """The console's ASGI app, mounted at /console by api/app.py."""
    from . import image_actions, images, instances, resources

    console = Console(api)
    signin = SigninPages(console)

    async def home(_request: Request) -> Response:
        return redirect("/console/instances")

    routes = [
        Route("/", home),
        Route("/signin", signin.form, methods=["GET"]),
        Route("/signin", signin.submit, methods=["POST"]),
        Route("/signout", signin.signout, methods=["POST"]),
        Mount("/static", app=CachedStatic(packages=[("localcvm.console", "static")])),
    ]
    if console.novnc is not None:
        routes.append(Mount("/novnc", app=CachedStatic(directory=str(console.novnc))))
    for path, fn, methods in image_actions.ROUTES + images.ROUTES + instances.ROUTES + resources.ROUTES:
        routes.append(Route(path, console.page(fn), methods=methods))
    app = Starlette(routes=routes)
    app.state.console = console
    return app


class CachedStatic(StaticFiles):
    """Static assets with a cache lifetime (the pages name them with a version query)."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

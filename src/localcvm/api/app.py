"""The ASGI application: one flat handler chain for every API 3.0 request.

    read body (size limit) → authenticate (TC3 or legacy signature)
    → resolve product/version/action from the spec → check region
    → validate parameters against the spec → dispatch to the handler
    → shape the response by the spec → render the envelope (+ request log)

Every answer is HTTP 200 with ``{"Response": {..., "RequestId"}}``, as the
real service does; errors carry the real codes and never a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route as HttpRoute

from ..clock import ClockDisabled, parse_duration
from ..console import console_app
from ..services import errors
from ..services.core import Services
from ..services.iam import Identity
from ..services.reset import reset_data
from . import hostnames, signing
from .errors import error_body
from .render import iso_time
from .dispatch import Call, Dispatcher
from .spec import SpecRegistry, unflatten

request_log = logging.getLogger("localcvm.request")

LEGACY_COMMON = {
    "Action", "Version", "Region", "SecretId", "Signature", "SignatureMethod",
    "Timestamp", "Nonce", "Token", "Language", "RequestClient",
}


@dataclass
class ParsedCall:
    service: str | None
    action: str
    version: str
    region: str | None
    language: str | None
    params: dict
    from_strings: bool
    identity: Identity
    sign_method: str


class ApiApplication:
    def __init__(self, services: Services, specs: SpecRegistry | None = None):
        self.services = services
        self.settings = services.settings
        self.specs = specs or SpecRegistry()
        self.dispatcher = Dispatcher(services, self.specs)

    # --- the chain ---------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        log_fields: dict = {"request_id": request_id}
        try:
            result = await self._process(request, request_id, log_fields)
            result["RequestId"] = request_id
            log_fields["status"] = "ok"
        except ClientDisconnect:
            # The client went away before its body was read: its doing, not a server error.
            # The request log line below says so; nobody is left to answer.
            result = {"RequestId": request_id}
            log_fields["status"] = "ClientDisconnected"
        except Exception as exc:  # every failure becomes an envelope
            result = error_body(
                exc, request_id, product=log_fields.get("service"), action=log_fields.get("action"),
                strict=self.settings.strict_errors,
            )
            log_fields["status"] = result["Error"]["Code"]
        body = orjson.dumps({"Response": result})
        if self.settings.request_log:
            log_fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
            log_fields["client"] = request.client.host if request.client else None
            request_log.info(json.dumps(log_fields, ensure_ascii=False, separators=(",", ":")))
        return Response(body, media_type="application/json")

    async def _process(self, request: Request, request_id: str, log_fields: dict) -> dict:
        if request.method not in ("POST", "GET"):
            raise errors.UnsupportedProtocol(
                f"HTTP method {request.method} is not supported; send POST (or GET with a signed query)."
            )
        body = await self._read_body(request)
        call = await self._authenticate(request, body)
        log_fields.update(
            action=call.action, service=call.service, version=call.version,
            region=call.region, account=call.identity.uin, sign_method=call.sign_method,
            **({"caller": call.identity.caller_uin} if call.identity.caller_uin else {}),
        )
        return await self.dispatcher.dispatch(
            Call(
                identity=call.identity, service=call.service, action=call.action, version=call.version,
                region=call.region, language=call.language, params=call.params, from_strings=call.from_strings,
                source_ip=request.client.host if request.client else None, request_id=request_id,
                log=log_fields,
            )
        )

    async def reset(self, request: Request) -> Response:
        """POST /_localcvm/reset: drop every resource (``{"All": true}``: every account but the root
        one too), signed like any call with a key of the data dir's root account."""

        def run(params: dict) -> dict:
            done = reset_data(self.services, accounts=params.get("All") is True)
            return {"DeletedResources": done.rows, "DeletedAccounts": done.accounts_dropped}

        return await self._operator(request, "reset", run)

    async def clock(self, request: Request) -> Response:
        """POST /_localcvm/clock: ``{"Advance": "3h"}`` moves the test clock forward (only when the
        server runs with --test-clock); ``{}`` reads it. Signed with a key of the root account."""

        def run(params: dict) -> dict:
            clock = self.services.clock
            if params.get("Advance") is not None:
                try:
                    clock.advance(parse_duration(str(params["Advance"])))
                except ClockDisabled as exc:
                    raise errors.UnsupportedOperation(str(exc)) from None
                except ValueError as exc:
                    raise errors.InvalidParameterValue(f"Advance: {exc}.") from None
            return {"Now": iso_time(clock.now()), "OffsetSeconds": clock.offset(), "Movable": clock.movable}

        return await self._operator(request, "clock", run)

    async def _operator(self, request: Request, name: str, run) -> Response:
        """An operator endpoint: signed like any call, by a key of the data dir's root account."""
        request_id = str(uuid.uuid4())
        try:
            body = await self._read_body(request)
            call = await self._authenticate(request, body)
            # a CAM sub-user's key resolves to its owner's uin: it is never the root account itself
            root = call.identity.is_root and await run_in_threadpool(self.services.accounts.is_root, call.identity.uin)
            if not root:
                raise errors.AuthFailureUnauthorizedOperation(f"Only the data dir's root account may use /_localcvm/{name}.")
            params = self._json_params(request.headers.get("content-type", ""), body)
            result = await run_in_threadpool(run, params)
            result["RequestId"] = request_id
        except Exception as exc:  # every failure becomes an envelope
            result = error_body(exc, request_id)
        status = result["Error"]["Code"] if "Error" in result else "ok"
        request_log.info(json.dumps({"request_id": request_id, "action": name, "status": status}, separators=(",", ":")))
        return Response(orjson.dumps({"Response": result}), media_type="application/json")

    async def _read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        too_big = errors.RequestSizeLimitExceeded(f"The request body exceeds the limit of {limit} bytes.")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_big
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    async def _lookup(self, secret_id: str) -> tuple[str, Identity]:
        accounts = self.services.accounts
        if accounts.lookup_is_inline:
            found = accounts.lookup(secret_id)
        else:
            found = await run_in_threadpool(accounts.lookup, secret_id)
        if found is None:
            raise errors.AuthFailureSecretIdNotFound(f"The SecretId `{secret_id}` does not exist or is disabled.")
        return found

    async def _authenticate(self, request: Request, body: bytes) -> ParsedCall:
        headers = request.headers
        if headers.get("authorization") or headers.get("x-tc-action"):
            return await self._authenticate_tc3(request, body)
        return await self._authenticate_legacy(request, body)

    async def _authenticate_tc3(self, request: Request, body: bytes) -> ParsedCall:
        headers = request.headers
        auth = signing.parse_tc3_authorization(headers.get("authorization"))
        timestamp = signing.check_timestamp(headers.get("x-tc-timestamp"), time.time(), self.settings.max_skew_seconds)
        secret_key, identity = await self._lookup(auth.secret_id)
        if headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD":
            payload_hash = hashlib.sha256(b"UNSIGNED-PAYLOAD").hexdigest()
        else:
            payload_hash = hashlib.sha256(body).hexdigest()
        raw_query = request.scope.get("query_string", b"").decode("latin-1")
        signing.verify_tc3(
            secret_key, auth, timestamp=timestamp,
            method=request.method, path=request.url.path, query=raw_query,
            headers={k.lower(): v for k, v in headers.items()}, payload_hash=payload_hash,
        )
        action = headers.get("x-tc-action")
        version = headers.get("x-tc-version")
        if not action:
            raise errors.MissingParameter("The request is missing the required header `X-TC-Action`.")
        if not version:
            raise errors.MissingParameter("The request is missing the required header `X-TC-Version`.")
        if request.method == "GET":
            params, from_strings = unflatten(dict(parse_qsl(raw_query, keep_blank_values=True))), True
        else:
            params, from_strings = self._json_params(headers.get("content-type", ""), body), False
        return ParsedCall(
            service=hostnames.route(self.specs, auth.service, headers.get("host", ""), action, version),
            action=action, version=version,
            region=headers.get("x-tc-region") or None, language=headers.get("x-tc-language") or None,
            params=params, from_strings=from_strings, identity=identity, sign_method=signing.TC3,
        )

    @staticmethod
    def _json_params(content_type: str, body: bytes) -> dict:
        media = _media_type(content_type, "application/json")
        if media != "application/json":
            raise errors.InvalidRequest(
                f"Content-Type `{content_type or '(none)'}` is not supported for TC3-HMAC-SHA256 POST requests; "
                "send `application/json`."
            )
        if not body:  # no body at all: no parameters
            return {}
        try:  # orjson reads UTF-8 only and refuses invalid UTF-8; whitespace alone is not JSON
            params = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise errors.InvalidRequest(f"The request body is not valid JSON: {exc}.") from None
        if not isinstance(params, dict):
            raise errors.InvalidRequest("The request body must be a JSON object.")
        return params

    async def _authenticate_legacy(self, request: Request, body: bytes) -> ParsedCall:
        if request.method == "GET":
            raw = request.scope.get("query_string", b"").decode("latin-1")
        else:
            media = _media_type(request.headers.get("content-type", ""), "application/x-www-form-urlencoded")
            if media != "application/x-www-form-urlencoded":
                raise errors.AuthFailureInvalidAuthorization(
                    "The request carries no Authorization header; sign it with TC3-HMAC-SHA256 "
                    "(or send a form-encoded request signed with HmacSHA1/HmacSHA256)."
                )
            try:
                raw = body.decode("utf-8")
            except UnicodeDecodeError:
                raise errors.InvalidRequest("The request body is not valid UTF-8.") from None
        try:
            params = dict(parse_qsl(raw, keep_blank_values=True, errors="strict"))
        except UnicodeDecodeError:
            raise errors.InvalidRequest("A percent-encoded parameter is not valid UTF-8.") from None
        if not params.get("Signature") or not params.get("SecretId"):
            raise errors.AuthFailureInvalidAuthorization(
                "The request is not signed: send an Authorization header (TC3-HMAC-SHA256) "
                "or the SecretId/Signature parameters (HmacSHA1/HmacSHA256)."
            )
        method_name = params.get("SignatureMethod") or "HmacSHA1"
        if method_name not in signing.LEGACY_METHODS:
            raise errors.AuthFailureInvalidAuthorization(
                f"SignatureMethod `{method_name}` is not supported; use HmacSHA1 or HmacSHA256."
            )
        signing.check_timestamp(params.get("Timestamp"), time.time(), self.settings.max_skew_seconds)
        secret_key, identity = await self._lookup(params["SecretId"])
        host = request.headers.get("host", "")
        to_sign = signing.legacy_string_to_sign(request.method, host, request.url.path, params)
        signing.verify_legacy(secret_key, method_name, to_sign, params["Signature"])
        action = params.get("Action")
        version = params.get("Version")
        if not action:
            raise errors.MissingParameter("The request is missing the required parameter `Action`.")
        if not version:
            raise errors.MissingParameter("The request is missing the required parameter `Version`.")
        # Legacy requests do not name the service: the host name or the action and version does.
        service = hostnames.route(self.specs, None, host, action, version)
        rest = {k: v for k, v in params.items() if k not in LEGACY_COMMON}
        return ParsedCall(
            service=service, action=action, version=version, region=params.get("Region") or None,
            language=params.get("Language") or None, params=unflatten(rest), from_strings=True,
            identity=identity, sign_method=method_name,
        )


def _media_type(content_type: str, expected: str) -> str:
    """The media type of a Content-Type header; refuses a charset other than UTF-8 for ``expected``.

    API 3.0 requests are UTF-8 (the SDKs send ``application/json`` or ``application/json;
    charset=utf-8``); a body declared in another charset is not read as if it were UTF-8.
    """
    media, _, rest = content_type.partition(";")
    media = media.strip().lower()
    if media == expected:
        for param in rest.split(";"):
            name, _, value = param.partition("=")
            charset = value.strip().strip('"').lower()
            if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
                raise errors.InvalidRequest(
                    f"The charset `{value.strip()[:32]}` of Content-Type is not supported; send the body in UTF-8."
                )
    return media


def create_app(services: Services, specs: SpecRegistry | None = None) -> Starlette:
    api = ApiApplication(services, specs)

    async def health(_request: Request) -> Response:
        return Response(orjson.dumps({"status": "ok"}), media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        services.start_workers()
        try:
            yield
        finally:
            services.close()

    app = Starlette(
        lifespan=lifespan,
        routes=[
            HttpRoute("/_localcvm/health", health, methods=["GET"]),
            HttpRoute("/_localcvm/reset", api.reset, methods=["POST"]),
            HttpRoute("/_localcvm/clock", api.clock, methods=["POST"]),
            # the web console: a client of the same dispatcher (console/routes.py)
            HttpRoute("/console", lambda _r: RedirectResponse("/console/", status_code=307), methods=["GET"]),
            Mount("/console", app=console_app(api)),
            HttpRoute("/{path:path}", api.handle, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
        ]
    )
    app.state.api = api
    return app

"""From an authenticated call to its answer: the one path every action takes.

    resolve product/version/action from the spec → check region → validate
    parameters against the spec → authorize (CAM) → run the handler → shape
    the response by the spec

The HTTP chain (``app.py``) reaches it after the signature check; the web
console reaches it with the signed-in user's identity, so both go through the
same validation and the same policy checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from ..services import errors
from ..services.core import Services
from ..services.iam import Identity
from ..services.iam.engine import Env
from .authz import authorize
from .routes import CallContext, Route, load_all
from .spec import SpecRegistry


@dataclass
class Call:
    """An authenticated call: who asks, which action, with which (unvalidated) parameters."""

    identity: Identity
    service: str | None
    action: str
    version: str
    region: str | None
    params: dict
    request_id: str
    language: str | None = None
    from_strings: bool = False
    # the client's address as the server saw it (CAM's qcs:ip condition); None in-process
    source_ip: str | None = None
    # the request log's fields: a refused call adds ``cam_decision``
    log: dict | None = None


class Dispatcher:
    def __init__(self, services: Services, specs: SpecRegistry):
        self.services = services
        self.specs = specs
        self.routes = load_all()

    async def dispatch(self, call: Call) -> dict:
        product = self.specs.product(call.service or "")
        if product is None:
            raise errors.InvalidAction(
                f"The service `{call.service}` is not served by localcvm (served: {', '.join(self.specs.products)})."
            )
        action_spec = product.actions.get(call.action)
        if action_spec is None:
            raise errors.InvalidAction(
                f"The action `{call.action}` does not exist in {product.product} {product.version}."
            )
        if call.version != product.version:
            raise errors.NoSuchVersion(
                f"The version `{call.version}` of {product.product} does not exist; localcvm serves {product.version}."
            )
        route = self.routes.get((product.product, call.action))
        # Regional unless the handler says otherwise; CAM and billing are global.
        regional = route.regional if route else product.product not in ("cam", "billing")
        if call.region:
            self.services.regions.get(call.region, product=product.product)
        elif regional:
            raise errors.MissingParameter("The request is missing the required parameter `Region` (X-TC-Region).")
        # Parameters are checked even for actions not implemented yet, as the real API does.
        params = product.validate_request(action_spec, call.params, from_strings=call.from_strings)
        if route is None:
            raise errors.UnsupportedOperation(
                f"The action `{call.action}` of {product.product} is not implemented by localcvm yet "
                "(see docs/api-coverage.md)."
            )
        ctx = CallContext(
            services=self.services, identity=call.identity, product=product.product,
            action=call.action, region=call.region, language=call.language, request_id=call.request_id,
            source_ip=call.source_ip,
        )
        if not call.identity.is_root:
            ctx.policy = await self.authorize(call, product.product, params)
        result = await self.run(route, ctx, params)
        return product.shape_response(action_spec, result, strict=self.services.settings.strict_responses)

    async def authorize(self, call: Call, product: str, params: dict):
        """CAM: refuse the call unless the sub-user's policies allow it (one read of its policies)."""
        cam = self.services.cam
        policies = cam.cached(call.identity)
        if policies is None:
            policies = cam.policies_for(call.identity) if cam.inline else await run_in_threadpool(cam.policies_for, call.identity)
        env = Env(call.source_ip, self.services.clock.now, call.region, params)
        return authorize(policies, env, product, call.action, params, call.identity, call.log)

    @staticmethod
    async def run(route: Route, ctx: CallContext, params: dict) -> dict:
        if route.inline:
            return route.fn(ctx, params)
        return await run_in_threadpool(route.fn, ctx, params)

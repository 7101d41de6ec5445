"""Action → handler dispatch. One small module per product registers its handlers.

A handler is ``fn(ctx: CallContext, params: dict) -> dict``: it reads the
validated parameters, calls a service and returns a plain dict that the spec
then shapes. Handlers never validate what the spec already states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..services.core import Services
from ..services.iam import Identity


@dataclass
class CallContext:
    services: Services
    identity: Identity
    product: str
    action: str
    region: str | None
    language: str | None
    request_id: str
    # the client's address (CAM's qcs:ip condition); None for in-process calls
    source_ip: str | None = None
    # a sub-user's list action: resource string → may the caller read it (None: no filtering)
    policy: Callable[[str], bool] | None = None

    def may(self, resource: str) -> bool:
        """May the caller read ``resource`` (a CAM six-segment string)? Always for root accounts."""
        return self.policy is None or self.policy(resource)

    def visible(self, kind: str) -> Callable[[str], bool] | None:
        """For Describe* filtering: resource id → may the caller read it; None when everything may be."""
        if self.policy is None:
            return None
        owner, product, region = self.identity.uin, self.product, self.region or ""
        return lambda rid: self.may(f"qcs::{product}:{region}:uin/{owner}:{kind}/{rid}")


Handler = Callable[[CallContext, dict], dict]


@dataclass(frozen=True)
class Route:
    product: str
    action: str
    fn: Handler
    # False for the few actions that need no Region (DescribeRegions, CAM)
    regional: bool = True
    # True for handlers cheap enough to run on the event loop (no I/O)
    inline: bool = False


ROUTES: dict[tuple[str, str], Route] = {}


def action(product: str, name: str, *, regional: bool = True, inline: bool = False):
    def register(fn: Handler) -> Handler:
        ROUTES[(product, name)] = Route(product, name, fn, regional, inline)
        return fn

    return register


def load_all() -> dict[tuple[str, str], Route]:
    """Import every product module so its handlers register."""
    from . import (  # noqa: F401
        billing, cam, cam_policies, cbs, cbs_policies, cvm, images, inquiry, instances, keypairs, launch_templates,
        security_groups, tag, vpc,
    )

    return ROUTES

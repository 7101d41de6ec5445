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
    from . import billing, cbs, cvm, images, inquiry, instances, keypairs, tag, vpc  # noqa: F401

    return ROUTES

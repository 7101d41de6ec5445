"""The error codes each action documents, and the strict error mode that keeps answers to them.

``data/error_codes.json`` (written by ``scripts/errorcodes.py`` from the public SDKs) holds,
per product and action, the codes the real API documents for that action (the Go SDK's
comment above each action), and per product every code it knows (the Python SDK's
``errorcodes.py``). Every action may also answer the common codes of API 3.0.

With ``strict_errors`` on (``LOCALCVM_STRICT_ERRORS=1``, on in the test suite) an error whose
code the action does not document is answered as InternalError naming the action, the code
and the documented alternatives, so the test that provoked it fails and says what to use.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from importlib import resources

log = logging.getLogger("localcvm.api")

# API 3.0's common error codes (the "Common Error Codes" table of every product's API
# documentation): any action may answer them.
COMMON_CODES = frozenset({
    "ActionOffline", "AuthFailure", "DryRunOperation", "FailedOperation", "InternalError",
    "InvalidAction", "InvalidParameter", "InvalidParameterValue", "InvalidRequest", "IpInBlacklist",
    "IpNotInWhitelist", "LimitExceeded", "MissingParameter", "NoSuchProduct", "NoSuchVersion",
    "RequestLimitExceeded", "RequestSizeLimitExceeded", "ResourceInUse", "ResourceInsufficient",
    "ResourceNotFound", "ResourceUnavailable", "ResponseSizeLimitExceeded", "ServiceUnavailable",
    "UnauthorizedOperation", "UnknownParameter", "UnsupportedOperation", "UnsupportedProtocol",
    "UnsupportedRegion",
})
# Families documented as common with every member (AuthFailure.SignatureFailure, ...).
COMMON_PREFIXES = ("AuthFailure.", "RequestLimitExceeded.")


def is_common(code: str) -> bool:
    return code in COMMON_CODES or code.startswith(COMMON_PREFIXES)


@dataclass(frozen=True)
class Verdict:
    """An answered code that the action does not document."""

    product: str
    action: str
    code: str
    documented: tuple[str, ...]
    known_to_product: bool

    def closest(self) -> list[str]:
        """Documented codes of the same family (first part) or the same situation (last part)."""
        head, _, tail = self.code.partition(".")
        near = [c for c in self.documented if c.split(".")[0] == head]
        if tail:
            near += [c for c in self.documented if c.endswith("." + tail) and c not in near]
        return near

    def message(self, original: str) -> str:
        where = "" if self.known_to_product else f" (not a {self.product} code at all)"
        closest = ", ".join(self.closest()) or "none of the same family"
        return (
            f"strict error mode: {self.product} {self.action} answered `{self.code}`{where}, which the action "
            f"does not document. Closest documented: {closest}. All documented codes of {self.action}: "
            f"{', '.join(self.documented) or '(none)'}; plus the API 3.0 common codes. "
            f"Original message: {original}"
        )


class ErrorCodes:
    """The documented codes per (product, action) and per product."""

    def __init__(self, data: dict):
        self.sources = data.get("sources", {})
        self.products = data["products"]

    @classmethod
    @functools.cache
    def builtin(cls) -> "ErrorCodes":
        raw = resources.files("localcvm.data").joinpath("error_codes.json").read_text(encoding="utf-8")
        return cls(json.loads(raw))

    def documented(self, product: str, action: str) -> tuple[str, ...] | None:
        """The codes the action documents; None when the product or action is not in the data."""
        actions = self.products.get(product, {}).get("actions", {})
        codes = actions.get(action)
        return None if codes is None else tuple(codes)

    def product_codes(self, product: str) -> frozenset[str]:
        return frozenset(self.products.get(product, {}).get("codes", ()))

    def allowed(self, product: str | None, action: str | None):
        """``allowed(code)``: may the action answer ``code``? (Everything, when the action is unknown.)"""
        documented = self.documented(product or "", action or "")
        if documented is None:
            return lambda code: True
        known = frozenset(documented)
        return lambda code: code in known or is_common(code)

    def check(self, product: str | None, action: str | None, code: str) -> Verdict | None:
        """None when ``code`` is an answer the action may give; else why not."""
        if is_common(code) or not product or not action:
            return None
        documented = self.documented(product, action)
        if documented is None or code in documented:
            # An action missing from the data (another product, a misspelt name) is answered
            # InvalidAction before any handler runs.
            return None
        return Verdict(product, action, code, documented, code in self.product_codes(product))

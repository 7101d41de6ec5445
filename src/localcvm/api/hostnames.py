"""Host names: the product a ``Host`` header names, and the /etc/hosts lines that route to localcvm.

The real API 3.0 serves each product at ``<product>.tencentcloudapi.com``; the SDKs that take
only a root domain (the Go and Java SDKs, Terraform's ``domain`` / ``TENCENTCLOUD_DOMAIN``)
build the host as ``<product>.<root domain>``. localcvm therefore reads the product from the
first label of the ``Host`` header when the request does not name a product it serves.
"""

from __future__ import annotations

from collections.abc import Iterable

from .spec import PRODUCTS, SpecRegistry

DEFAULT_DOMAIN = "localcvm.test"


def hostname_of(host: str) -> str:
    """The ``Host`` header without its port (``cvm.localcvm.test:4570`` → ``cvm.localcvm.test``,
    ``[::1]:4570`` → ``[::1]``), as a URL's hostname is."""
    host = host.strip()
    if host.startswith("["):  # an IPv6 literal: the port follows the closing bracket
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def first_label(host: str) -> str:
    """The first DNS label of the ``Host`` header, lower case (``CVM.localcvm.test:4570`` → ``cvm``)."""
    return hostname_of(host).split(".", 1)[0].lower()


def route(specs: SpecRegistry, named: str | None, host: str, action: str, version: str) -> str | None:
    """The product a request is for: the one its TC3 credential scope names (``…/cvm/tc3_request``)
    when localcvm serves it, else the first label of its ``Host`` (``cvm.localcvm.test:4570``), else
    the served product that has ``action`` in ``version``. Legacy signatures name no product
    (``named`` is None). A scope naming something else (the Node.js SDK puts the endpoint's first
    label there: ``127`` for ``127.0.0.1:4570``) is still what the signature was checked with;
    when nothing matches, it is returned for the error message."""
    if named and specs.product(named):
        return named
    label = first_label(host)
    if specs.product(label):
        return label
    return specs.find_product_for(action, version) or named


def hosts_lines(domain: str = DEFAULT_DOMAIN, products: Iterable[str] = PRODUCTS, address: str = "127.0.0.1") -> list[str]:
    """The /etc/hosts lines that send ``<product>.<domain>`` for every product to ``address``."""
    domain = domain.strip().strip(".")
    if not domain:
        raise ValueError("the root domain is empty")
    return [f"{address} " + " ".join(f"{product}.{domain}" for product in products)]

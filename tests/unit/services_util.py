"""Helpers of the unit tests that drive the services in process (their ``services`` fixture, a
fresh data dir with no workers, is in conftest.py)."""

from __future__ import annotations

from localcvm.services.core import Services
from localcvm.services.iam import Identity


def new_identity(services: Services, name: str) -> Identity:
    c = services.accounts.create_account(name)
    return Identity(c.uin, c.app_id, c.name, c.secret_id)

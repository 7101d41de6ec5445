"""Drop every resource row at once (``localcvm reset``): one DELETE per table, children first."""

from __future__ import annotations

from sqlalchemy import delete, update

from .models import Account, ApiKey, Base
from .models_console import ConsolePassword
from .repo import Repo

ACCOUNT_TABLES = (Account.__table__, ApiKey.__table__, ConsolePassword.__table__)


def delete_resources(repo: Repo, *, keep_uins: tuple[str, ...] | None = None) -> dict[str, int]:
    """Delete the rows of every table but the accounts and their keys; with ``keep_uins`` the other
    accounts (and their keys) go too. Returns the rows deleted per table."""
    deleted: dict[str, int] = {}
    for table in reversed(Base.metadata.sorted_tables):  # rows that point at others first
        if table in ACCOUNT_TABLES:
            continue
        deleted[table.name] = repo.session.execute(delete(table)).rowcount or 0
    # CAM's users and policies went too: processes drop their cached policy lists
    repo.session.execute(update(Account).values(cam_generation=Account.cam_generation + 1))
    if keep_uins is not None:
        for model in (ConsolePassword, ApiKey, Account):
            gone = repo.session.execute(delete(model).where(model.uin.not_in(keep_uins))).rowcount
            deleted[model.__tablename__] = gone or 0
    return deleted

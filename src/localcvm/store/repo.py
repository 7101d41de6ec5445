"""Queries. Services call these methods; no SQL lives outside the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Account, ApiKey

if TYPE_CHECKING:  # pragma: no cover
    from .db import Database


class Repo:
    def __init__(self, session: Session, db: "Database"):
        self.session = session
        self.db = db

    # --- accounts ------------------------------------------------------------
    def get_account(self, uin: str) -> Account | None:
        return self.session.get(Account, uin)

    def get_account_by_name(self, name: str) -> Account | None:
        return self.session.scalar(select(Account).where(Account.name == name))

    def list_accounts(self) -> list[Account]:
        return list(self.session.scalars(select(Account).order_by(Account.created_at, Account.uin)))

    def count_accounts(self) -> int:
        return self.session.scalar(select(func.count()).select_from(Account)) or 0

    def max_uin(self) -> int:
        return int(self.session.scalar(select(func.max(Account.uin))) or 0)

    def add_account(self, uin: str, app_id: int, name: str) -> Account:
        account = Account(uin=uin, app_id=app_id, name=name)
        self.session.add(account)
        self.session.flush()
        return account

    # --- API keys ---------------------------------------------------------------
    def get_key(self, secret_id: str) -> ApiKey | None:
        return self.session.get(ApiKey, secret_id)

    def add_key(self, uin: str, secret_id: str, secret_key: str) -> ApiKey:
        key = ApiKey(uin=uin, secret_id=secret_id, secret_key=secret_key, active=True)
        self.session.add(key)
        self.session.flush()
        return key

    def keys_of(self, uin: str) -> list[ApiKey]:
        return list(self.session.scalars(select(ApiKey).where(ApiKey.uin == uin).order_by(ApiKey.created_at)))

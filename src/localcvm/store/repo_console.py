"""Queries for the web console's passwords and sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from .models import Account
from .models_console import ConsolePassword, ConsoleSession


class ConsoleRepo:
    def __init__(self, session: Session):
        self.session = session

    def find_account(self, owner: str) -> Account | None:
        """An account by its Uin or its name."""
        found = self.session.get(Account, owner) if owner.isdigit() else None
        return found or self.session.scalar(select(Account).where(Account.name == owner))

    def password(self, uin: str) -> ConsolePassword | None:
        return self.session.get(ConsolePassword, uin)

    def set_password(self, uin: str, salt: bytes, digest: bytes, cost: tuple[int, int, int], now: datetime) -> None:
        row = self.session.get(ConsolePassword, uin)
        if row is None:
            row = ConsolePassword(uin=uin)
            self.session.add(row)
        row.salt, row.digest, row.updated_at = salt, digest, now
        row.cost_n, row.cost_r, row.cost_p = cost

    def add_session(self, row: ConsoleSession) -> None:
        self.session.add(row)

    def get_session(self, token_hash: str) -> ConsoleSession | None:
        return self.session.get(ConsoleSession, token_hash)

    def touch(self, token_hash: str, now: datetime) -> None:
        self.session.execute(update(ConsoleSession).where(ConsoleSession.token_hash == token_hash)
                             .values(last_seen=now))

    def delete_session(self, token_hash: str) -> None:
        self.session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash))

    def delete_idle(self, before: datetime) -> int:
        return self.session.execute(delete(ConsoleSession).where(ConsoleSession.last_seen < before)).rowcount or 0

    def delete_sessions_of(self, uin: str) -> None:
        self.session.execute(delete(ConsoleSession).where(ConsoleSession.uin == uin))

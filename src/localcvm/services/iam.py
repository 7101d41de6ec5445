"""Accounts and their API keys (root accounts with a numeric Uin)."""

from __future__ import annotations

import secrets
import string
import threading
import time
from dataclasses import dataclass

from ..store.db import Database
from . import errors

_ALNUM = string.ascii_letters + string.digits
FIRST_UIN = 100000000001
FIRST_APP_ID = 1250000000


@dataclass(frozen=True)
class Identity:
    """Who is calling: the account behind a SecretId."""

    uin: str
    app_id: int
    name: str
    secret_id: str


@dataclass(frozen=True)
class Credentials:
    uin: str
    app_id: int
    name: str
    secret_id: str
    secret_key: str


def new_secret_id() -> str:
    return "AKID" + "".join(secrets.choice(_ALNUM) for _ in range(32))


def new_secret_key() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(32))


class AccountService:
    """Creates accounts and resolves SecretIds (with a short positive cache)."""

    CACHE_SECONDS = 30.0

    def __init__(self, db: Database):
        self.db = db
        self._cache: dict[str, tuple[float, str, Identity]] = {}
        self._lock = threading.Lock()

    def create_account(self, name: str, secret_id: str | None = None, secret_key: str | None = None) -> Credentials:
        name = (name or "").strip()
        if not name or len(name) > 64:
            raise errors.InvalidParameterValue("The account name must be 1 to 64 characters.")
        secret_id = secret_id or new_secret_id()
        secret_key = secret_key or new_secret_key()
        with self.db.write() as repo:
            if repo.get_account_by_name(name):
                raise errors.InvalidParameterValue(f"An account named `{name}` already exists.")
            if repo.get_key(secret_id):
                raise errors.InvalidParameterValue(f"The SecretId `{secret_id}` is already in use.")
            uin = max(repo.max_uin() + 1, FIRST_UIN)
            account = repo.add_account(str(uin), FIRST_APP_ID + (uin - FIRST_UIN), name)
            repo.add_key(account.uin, secret_id, secret_key)
            return Credentials(account.uin, account.app_id, account.name, secret_id, secret_key)

    def ensure_root(self, secret_id: str = "", secret_key: str = "") -> Credentials | None:
        """Make sure the data dir has a root account.

        With ``secret_id``/``secret_key`` (from LOCALCVM_SECRET_ID/KEY) that key pair
        is guaranteed to exist (on the first account). Returns the credentials when
        they were generated just now, so the caller can print them once.
        """
        if bool(secret_id) != bool(secret_key):
            raise errors.InvalidParameterValue("Set both LOCALCVM_SECRET_ID and LOCALCVM_SECRET_KEY, or neither.")
        with self.db.write() as repo:
            accounts = repo.list_accounts()
            if secret_id:
                key = repo.get_key(secret_id)
                if key is not None:
                    if key.secret_key != secret_key:
                        key.secret_key = secret_key
                    return None
                if accounts:
                    repo.add_key(accounts[0].uin, secret_id, secret_key)
                    return None
            elif accounts:
                return None
        creds = self.create_account("root", secret_id or None, secret_key or None)
        return None if secret_id else creds

    def list_accounts(self) -> list[dict]:
        with self.db.read() as repo:
            return [
                {
                    "Uin": a.uin,
                    "AppId": a.app_id,
                    "Name": a.name,
                    "SecretIds": [k.secret_id for k in repo.keys_of(a.uin)],
                    "CreatedTime": a.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") if a.created_at else None,
                    "CrossBorder": bool(a.cross_border),
                }
                for a in repo.list_accounts()
            ]

    def set_cross_border(self, uin: str, allowed: bool) -> bool:
        """Allow (or revoke) copying images between mainland China and elsewhere (R15); False if no such account."""
        with self.db.write() as repo:
            return repo.set_cross_border(uin, allowed)

    def peek(self, secret_id: str) -> tuple[str, Identity] | None:
        """The cached (secret_key, identity) for ``secret_id``; never touches the database."""
        with self._lock:
            hit = self._cache.get(secret_id)
        if hit and hit[0] > time.monotonic():
            return hit[1], hit[2]
        return None

    def lookup(self, secret_id: str) -> tuple[str, Identity] | None:
        """(secret_key, identity) for an active SecretId, or None."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(secret_id)
        if hit and hit[0] > now:
            return hit[1], hit[2]
        with self.db.read() as repo:
            key = repo.get_key(secret_id)
            if key is None or not key.active:
                return None
            account = repo.get_account(key.uin)
            if account is None:
                return None
            ident = Identity(account.uin, account.app_id, account.name, secret_id)
            result = (key.secret_key, ident)
        with self._lock:
            self._cache[secret_id] = (now + self.CACHE_SECONDS, *result)
        return result

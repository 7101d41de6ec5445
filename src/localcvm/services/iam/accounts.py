"""Accounts and their API keys (root accounts with a numeric Uin)."""

from __future__ import annotations

import hmac
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ...store.db import Database
from ...store.keys import KeyReader
from .. import errors

_ALNUM = string.ascii_letters + string.digits
FIRST_UIN = 100000000001
FIRST_APP_ID = 1250000000


@dataclass(frozen=True)
class Identity:
    """Who is calling: the account behind a SecretId.

    ``uin`` is always the OWNER (root) account: what a sub-user creates belongs to it, as in the
    real service. A sub-user's key adds its own Uin (``caller_uin``) and name (``sub_user``).
    """

    uin: str
    app_id: int
    name: str
    secret_id: str
    caller_uin: str | None = None
    sub_user: str | None = None
    # the owner's CAM generation as read with the key (None: unknown, e.g. a console session):
    # the policy check caches a sub-user's policies under it
    cam_generation: int | None = None

    @property
    def is_root(self) -> bool:
        return self.caller_uin is None

    @property
    def caller(self) -> str:
        """The Uin that signed the call (the sub-user's, or the root account's)."""
        return self.caller_uin or self.uin


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
    """Creates accounts, manages their API keys and resolves SecretIds.

    A SecretId is resolved from the database on every request, never from a per-process
    cache: a key disabled or deleted (by `localcvm accounts keys`, from any process sharing
    the database) is refused from the very next request on, as the real service refuses a
    disabled key at once (AuthFailure.SecretIdNotFound). Any exact cache would need the same
    database round trip to check that it is still current, so it would save nothing.
    """

    def __init__(self, db: Database):
        self.db = db
        self.keys = KeyReader(db)
        # CamService.check_console_password, set by the service container (CAM sub-users' sign-in)
        self.sub_user_login: Callable[[str, str, str], Identity | None] | None = None

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

    @property
    def lookup_is_inline(self) -> bool:
        """True when ``lookup`` is a local file read cheap enough to run on the event loop (SQLite);
        on a networked database callers run it in a thread."""
        return self.keys.inline

    def list_accounts(self) -> list[AccountView]:
        with self.db.read() as repo:
            return [
                AccountView(a.uin, a.app_id, a.name, tuple(k.secret_id for k in repo.keys_of(a.uin)),
                            a.created_at, bool(a.cross_border))
                for a in repo.list_accounts()
            ]

    def is_root(self, uin: str) -> bool:
        """True for the data dir's root account (its first account, made by ``ensure_root``)."""
        with self.db.read() as repo:
            accounts = repo.list_accounts()
            return bool(accounts) and accounts[0].uin == uin

    def root_credentials(self) -> tuple[str, str] | None:
        """(SecretId, SecretKey) of the root account's first enabled key, or None."""
        with self.db.read() as repo:
            accounts = repo.list_accounts()
            keys = [k for k in repo.keys_of(accounts[0].uin) if k.active] if accounts else []
            return (keys[0].secret_id, keys[0].secret_key) if keys else None

    def set_cross_border(self, uin: str, allowed: bool) -> bool:
        """Allow (or revoke) copying images between mainland China and elsewhere
        (SyncImages across that border is refused otherwise); False if no such account."""
        with self.db.write() as repo:
            return repo.set_cross_border(uin, allowed)

    # --- console sign-in ---------------------------------------------------------------------
    def console_login(self, owner: str, user: str | None, password: str) -> Identity | None:
        """The identity that may use the web console with ``password``, or None.

        ``owner`` is the account's name or Uin; ``user`` a CAM sub-user's name (None for the
        root account, whose console password ``localcvm accounts password`` sets)."""
        from ..console_auth import ConsoleLogins

        if user:
            # A CAM sub-user signs in with the root account's ID (or name), its user name and the
            # console password CAM gave it (AddUser/UpdateUser with ConsoleLogin).
            uin = ConsoleLogins(self.db).owner_uin(owner)
            if uin is None or self.sub_user_login is None:
                return None
            return self.sub_user_login(uin, user.strip(), password)
        return ConsoleLogins(self.db).check_root(owner, password)

    def set_console_password(self, owner: str, password: str) -> str:
        """Set a root account's console password (signing its sessions out); returns its Uin."""
        from ..console_auth import ConsoleLogins

        return ConsoleLogins(self.db).set_password(owner, password)

    def key_login(self, secret_id: str, secret_key: str) -> Identity | None:
        """The identity of an enabled SecretId whose SecretKey is ``secret_key``, or None."""
        found = self.lookup(secret_id.strip()) if secret_id and len(secret_id) <= 64 else None
        if found is None or not hmac.compare_digest(found[0].encode(), secret_key.encode()):
            return None
        return found[1]

    def lookup(self, secret_id: str) -> tuple[str, Identity] | None:
        """(secret_key, identity) for an enabled SecretId, or None (one indexed read, every time)."""
        found = self.keys.find_active(secret_id)
        if found is None:
            return None
        secret_key, uin, app_id, name, caller_uin, sub_user, generation = found
        return secret_key, Identity(uin, app_id, name, secret_id, caller_uin, sub_user, generation)

    # --- API keys (operators: `localcvm accounts keys ...`) ------------------------------------
    def list_keys(self, uin: str | None = None) -> list[KeyView]:
        """Every API key (of one account with ``uin``), oldest first; never the secret keys."""
        with self.db.read() as repo:
            uins = [uin] if uin else [a.uin for a in repo.list_accounts()]
            return [_key_view(k) for u in uins for k in repo.keys_of(u)]

    def create_key(self, uin: str) -> Credentials | None:
        """A new enabled key pair for the account ``uin``; None if there is no such account."""
        with self.db.write() as repo:
            account = repo.get_account(uin)
            if account is None:
                return None
            secret_id, secret_key = new_secret_id(), new_secret_key()
            repo.add_key(account.uin, secret_id, secret_key)
            return Credentials(account.uin, account.app_id, account.name, secret_id, secret_key)

    def set_key_enabled(self, secret_id: str, enabled: bool) -> KeyView | None:
        """Enable or disable a key (effective from the next request); None if there is no such key."""
        with self.db.write() as repo:
            key = repo.get_key(secret_id)
            if key is None:
                return None
            key.active = enabled
            return _key_view(key)

    def delete_key(self, secret_id: str) -> bool:
        """Delete a key for good (effective from the next request); False if there is no such key."""
        with self.db.write() as repo:
            key = repo.get_key(secret_id)
            if key is None:
                return False
            repo.delete_api_key(key)
            return True


@dataclass(frozen=True)
class AccountView:
    uin: str
    app_id: int
    name: str
    secret_ids: tuple[str, ...]
    created_at: datetime | None
    cross_border: bool


@dataclass(frozen=True)
class KeyView:
    secret_id: str
    uin: str
    enabled: bool
    created_at: datetime | None


def _key_view(key) -> KeyView:
    return KeyView(key.secret_id, key.uin, bool(key.active), key.created_at)

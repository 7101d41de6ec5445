"""Console sign-in: root accounts' console passwords (scrypt) and server-side sessions.

A session is a random token in an HttpOnly cookie; the table keeps only its SHA-256, the
account, a CSRF token for the session's forms and when it was last used. A session unused for
longer than the idle timeout is gone, as the real console signs a browser out after inactivity.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..clock import Clock
from ..store.db import Database
from ..store.models_console import ConsoleSession
from ..store.repo_cam import CamRepo
from ..store.repo_console import ConsoleRepo
from . import errors
from .iam import Identity

SCRYPT_COST = (2**14, 8, 1)  # n, r, p
MIN_PASSWORD = 8
MAX_PASSWORD = 128
TOUCH_SECONDS = 5


def hash_password(password: str, salt: bytes, cost: tuple[int, int, int]) -> bytes:
    n, r, p = cost
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=64)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionView:
    identity: Identity
    user_name: str  # "" for the root account
    csrf_token: str


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str


class ConsoleLogins:
    """Console passwords of root accounts and checks of a sign-in."""

    def __init__(self, db: Database):
        self.db = db

    def set_password(self, owner: str, password: str) -> str:
        """Set the console password of the root account ``owner`` (name or Uin); returns its Uin.
        Every session of the account is signed out."""
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise errors.InvalidParameterValue(
                f"A console password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters.")
        salt = secrets.token_bytes(16)
        digest = hash_password(password, salt, SCRYPT_COST)
        with self.db.write() as repo:
            console = ConsoleRepo(repo.session)
            account = console.find_account(owner)
            if account is None:
                raise errors.InvalidParameterValue(f"No account is named `{owner}` or has that Uin.")
            console.set_password(account.uin, salt, digest, SCRYPT_COST, datetime.now(timezone.utc).replace(tzinfo=None))
            console.delete_sessions_of(account.uin)
            return account.uin

    def owner_uin(self, owner: str) -> str | None:
        """The Uin of the root account named or numbered ``owner``, or None."""
        with self.db.read() as repo:
            account = ConsoleRepo(repo.session).find_account(owner.strip())
            return account.uin if account is not None else None

    def check_root(self, owner: str, password: str) -> Identity | None:
        """The root account's identity if ``password`` is its console password, else None."""
        with self.db.read() as repo:
            console = ConsoleRepo(repo.session)
            account = console.find_account(owner.strip())
            row = console.password(account.uin) if account is not None else None
            found = (row.salt, row.digest, (row.cost_n, row.cost_r, row.cost_p)) if row is not None else None
            identity = Identity(account.uin, account.app_id, account.name, "") if account is not None else None
        if found is None or identity is None:
            hash_password(password, b"0" * 16, SCRYPT_COST)  # same work either way: no account probing by timing
            return None
        salt, digest, cost = found
        return identity if hmac.compare_digest(hash_password(password, salt, cost), digest) else None


class ConsoleSessions:
    def __init__(self, db: Database, clock: Clock, idle_minutes: float):
        self.db = db
        self.clock = clock
        self.idle = timedelta(minutes=idle_minutes)

    def open(self, identity: Identity, user_name: str, source_ip: str) -> NewSession:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock.now()
        with self.db.write() as repo:
            console = ConsoleRepo(repo.session)
            console.delete_idle(now - self.idle)
            console.add_session(ConsoleSession(
                token_hash=token_hash(token), uin=identity.uin, user_name=user_name or "",
                secret_id=identity.secret_id, csrf_token=csrf, source_ip=source_ip[:64],
                created_at=now, last_seen=now,
            ))
        return NewSession(token, csrf)

    def resolve(self, token: str) -> SessionView | None:
        """The live session of a cookie's token (its idle time restarts), or None.

        A read answers most requests; a write happens only to expire the session or to move
        its last-used time (at most every TOUCH_SECONDS), so pages do not queue on the write lock."""
        if not token or len(token) > 128:
            return None
        now, key = self.clock.now(), token_hash(token)
        with self.db.read() as repo:
            console = ConsoleRepo(repo.session)
            row = console.get_session(key)
            account = console.find_account(row.uin) if row is not None else None
            if row is None or account is None:
                return None
            identity = Identity(account.uin, account.app_id, account.name, row.secret_id)
            if row.user_name:
                # a CAM sub-user's session acts as that sub-user (its policies decide every call), and
                # ends once the user is deleted or loses its console login
                user = CamRepo(repo).user(account.uin, row.user_name)
                if user is None or not user.console_login:
                    return None
                identity = Identity(account.uin, account.app_id, account.name, "", user.uin, row.user_name)
            view = SessionView(identity, row.user_name, row.csrf_token)
            last_seen = row.last_seen
        if last_seen < now - self.idle:
            self.close(token)
            return None
        if (now - last_seen).total_seconds() > TOUCH_SECONDS:
            with self.db.write() as repo:
                ConsoleRepo(repo.session).touch(key, now)
        return view

    def close(self, token: str) -> None:
        with self.db.write() as repo:
            ConsoleRepo(repo.session).delete_session(token_hash(token))

"""CAM sub-users and their API keys (AddUser, UpdateUser, DeleteUser, *AccessKey)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from ...clock import Clock
from ...store.db import Database
from ...store.models_cam import CamAccessKey, CamUser
from ...store.repo_cam import CamRepo
from .. import errors
from .accounts import Identity, new_secret_id, new_secret_key

FIRST_SUB_UIN = 300000000001
FIRST_UID = 10000001
MAX_KEYS = 2  # the real service allows two API keys per user
_NAME = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")
_SPECIALS = set(string.punctuation)


@dataclass(frozen=True)
class UserView:
    uin: str
    uid: int
    name: str
    remark: str
    console_login: bool
    phone: str
    country_code: str
    email: str
    created_at: datetime


@dataclass(frozen=True)
class NewUser:
    user: UserView
    password: str | None
    secret_id: str | None
    secret_key: str | None


@dataclass(frozen=True)
class AccessKeyView:
    secret_id: str
    secret_key: str | None  # only when just created
    active: bool
    description: str
    created_at: datetime | None


def user_view(u: CamUser) -> UserView:
    return UserView(u.uin, int(u.uid), u.name, u.remark, bool(u.console_login), u.phone, u.country_code, u.email,
                    u.created_at)


LIMITS = {"remark": 256, "phone": 32, "country_code": 8, "email": 128, "description": 256}


def check_lengths(**values) -> None:
    """Remark, PhoneNum, CountryCode, Email, Description: within their documented lengths."""
    for name, value in values.items():
        if value is not None and len(value) > LIMITS[name]:
            raise errors.InvalidParameterParamError(f"{name} is at most {LIMITS[name]} characters.")


def check_password(password: str) -> None:
    """CAM's default password rules: 8 to 32 characters with lowercase and uppercase letters, digits
    and special characters."""
    problems = []
    if not 8 <= len(password) <= 32:
        problems.append("be 8 to 32 characters long")
    if any(c not in string.printable or c in string.whitespace for c in password):
        problems.append("use printable ASCII without spaces")
    for test, what in ((str.islower, "a lowercase letter"), (str.isupper, "an uppercase letter"),
                       (str.isdigit, "a digit"), (_SPECIALS.__contains__, "a special character")):
        if not any(test(c) for c in password):
            problems.append(f"contain {what}")
    if problems:
        raise errors.InvalidParameterPasswordViolatedRules("The password must " + ", ".join(problems) + ".")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(stored: str, password: str) -> bool:
    kind, _, rest = stored.partition("$")
    salt, _, digest = rest.partition("$")
    if kind != "scrypt" or not salt or not digest:
        return False
    got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(got.hex(), digest)


def random_password() -> str:
    pools = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "!@#$%^&*")
    chars = [secrets.choice(p) for p in pools] + [secrets.choice("".join(pools)) for _ in range(12)]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


class UserService:
    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock

    def add(self, owner: Identity, name: str, *, remark: str = "", console_login: bool = False, use_api: bool = False,
            password: str | None = None, need_reset: bool = False, phone: str = "", country_code: str = "",
            email: str = "") -> NewUser:
        if not _NAME.fullmatch(name or ""):
            raise errors.InvalidParameterUserNameIllegal(
                f"Name `{(name or '')[:80]}`: 1 to 64 letters, digits or the characters _+=,.@-."
            )
        check_lengths(remark=remark, phone=phone, country_code=country_code, email=email)
        if console_login and not password:
            password = random_password()
        if password:
            check_password(password)
        with self.db.write() as repo:
            cam = CamRepo(repo)
            repo.lock("cam_users")
            if cam.user(owner.uin, name):
                raise errors.InvalidParameterSubUserNameInUse(f"A sub-user named `{name}` already exists.")
            top_uin, top_uid = cam.max_user_numbers()
            user = CamUser(uin=str(max(top_uin + 1, FIRST_SUB_UIN)), uid=max(top_uid + 1, FIRST_UID), owner_uin=owner.uin,
                           name=name, remark=remark or "", console_login=console_login,
                           password_hash=hash_password(password) if password else "", need_reset_password=need_reset,
                           phone=phone or "", country_code=country_code or "", email=email or "",
                           created_at=self.clock.now())
            cam.add(user)
            secret_id = secret_key = None
            if use_api:
                secret_id, secret_key = new_secret_id(), new_secret_key()
                cam.add(CamAccessKey(secret_id=secret_id, secret_key=secret_key, user_uin=user.uin, active=True,
                                     created_at=self.clock.now()))
            return NewUser(user_view(user), password if console_login else None, secret_id, secret_key)

    def get(self, owner: Identity, name: str) -> UserView:
        with self.db.read() as repo:
            return user_view(self.named(CamRepo(repo), owner, name))

    @staticmethod
    def named(cam: CamRepo, owner: Identity, name: str) -> CamUser:
        user = cam.user(owner.uin, name)
        if user is None:
            raise errors.ResourceNotFoundUserNotExist(f"The sub-user `{name}` does not exist.")
        return user

    @staticmethod
    def by_uin(cam: CamRepo, owner: Identity, uin) -> CamUser:
        user = cam.user_by_uin(owner.uin, str(uin))
        if user is None:
            raise errors.ResourceNotFoundUserNotExist(f"The sub-user with Uin {uin} does not exist.")
        return user

    def list(self, owner: Identity) -> list[UserView]:
        with self.db.read() as repo:
            return [user_view(u) for u in CamRepo(repo).users(owner.uin)]

    def update(self, owner: Identity, name: str, changes: dict) -> None:
        """``changes``: remark, console_login, password, need_reset, phone, country_code, email (absent: kept)."""
        check_lengths(**{k: changes.get(k) for k in ("remark", "phone", "country_code", "email")})
        password = changes.pop("password", None)
        if password:
            check_password(password)
        with self.db.write() as repo:
            user = self.named(CamRepo(repo), owner, name)
            for field, column in (("remark", "remark"), ("console_login", "console_login"), ("phone", "phone"),
                                  ("country_code", "country_code"), ("email", "email"),
                                  ("need_reset", "need_reset_password")):
                if changes.get(field) is not None:
                    setattr(user, column, changes[field])
            if password:
                user.password_hash = hash_password(password)

    def delete(self, owner: Identity, name: str, force: bool) -> None:
        with self.db.write() as repo:
            cam = CamRepo(repo)
            user = self.named(cam, owner, name)
            if cam.keys_of(user.uin) and not force:
                raise errors.OperationDeniedHaveKeys(
                    f"The sub-user `{name}` still has API keys: delete them first, or pass Force=1."
                )
            cam.delete_user(user)
            cam.changed(owner.uin)

    def check_console_password(self, owner_uin: str, user_name: str, password: str) -> Identity | None:
        """The sub-user's identity when console login is enabled and the password matches, else None."""
        with self.db.read() as repo:
            user = CamRepo(repo).user(owner_uin, user_name)
            account = repo.get_account(owner_uin)
            if user is None or account is None or not user.console_login or not user.password_hash:
                return None
            stored, uin, app_id, account_name = user.password_hash, user.uin, account.app_id, account.name
        if not password_matches(stored, password):
            return None
        return Identity(owner_uin, int(app_id), account_name, "", uin, user_name)

    # --- API keys -------------------------------------------------------------------------------
    def create_key(self, owner: Identity, target_uin, description: str = "") -> AccessKeyView:
        check_lengths(description=description)
        with self.db.write() as repo:
            cam = CamRepo(repo)
            user = self.by_uin(cam, owner, target_uin)
            if len(cam.keys_of(user.uin)) >= MAX_KEYS:
                raise errors.OperationDeniedAccessKeyOverLimit(f"The sub-user `{user.name}` already has {MAX_KEYS} API keys.")
            row = CamAccessKey(secret_id=new_secret_id(), secret_key=new_secret_key(), user_uin=user.uin, active=True,
                               description=description or "", created_at=self.clock.now())
            cam.add(row)
            return AccessKeyView(row.secret_id, row.secret_key, True, row.description, row.created_at)

    def list_keys(self, owner: Identity, target_uin) -> list[AccessKeyView]:
        with self.db.read() as repo:
            cam = CamRepo(repo)
            user = self.by_uin(cam, owner, target_uin)
            return [AccessKeyView(k.secret_id, None, bool(k.active), k.description, k.created_at) for k in cam.keys_of(user.uin)]

    def _key(self, cam: CamRepo, owner: Identity, target_uin, secret_id: str) -> CamAccessKey:
        user = self.by_uin(cam, owner, target_uin)
        key = cam.key(secret_id)
        if key is None or key.user_uin != user.uin:
            raise errors.ResourceNotFoundSecretNotExist(f"The access key `{secret_id}` of sub-user {target_uin} does not exist.")
        return key

    def set_key_status(self, owner: Identity, target_uin, secret_id: str, active: bool) -> None:
        with self.db.write() as repo:
            self._key(CamRepo(repo), owner, target_uin, secret_id).active = active

    def delete_key(self, owner: Identity, target_uin, secret_id: str) -> None:
        with self.db.write() as repo:
            cam = CamRepo(repo)
            cam.remove(self._key(cam, owner, target_uin, secret_id))

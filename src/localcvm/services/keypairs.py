"""SSH key pairs (the CVM API's preferred Linux login): create, import, describe, bind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ..store.db import Database
from ..store.models import KeyPair
from ..store.repo import utcnow
from . import errors, sshkeys
from .instances import lifecycle
from .query import IdKind, check_describe, match_all, require_ids, tag_matches
from .iam import Identity
from .ids import is_id, new_id

MAX_KEY_PAIRS = 100
KEY_FILTERS = {"project-id", "key-name", "tag-key", "tag-value"}


@dataclass(frozen=True)
class KeyPairView:
    key_id: str
    name: str
    project_id: int
    description: str
    public_key: str
    created_at: datetime
    instance_ids: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    private_key: str | None = None


class KeyPairService:
    def __init__(self, db: Database):
        self.db = db

    def own(self, repo, identity: Identity, key_id: str) -> KeyPair:
        if not is_id("skey", key_id):
            raise errors.InvalidKeyPairIdMalformed(f"The key pair ID `{key_id}` is malformed (expected skey-xxxxxxxx).")
        key = repo.get_key_pair(key_id, for_update=True)
        if key is None or key.owner_uin != identity.uin:
            raise errors.InvalidKeyPairIdNotFound(f"The key pair `{key_id}` does not exist.")
        return key

    def _view(self, repo, key: KeyPair, private_key: str | None = None) -> KeyPairView:
        return KeyPairView(key.key_id, key.name, key.project_id, key.description, key.public_key, key.created_at,
                           repo.instances_with_key(key.key_id), repo.tags_of([key.key_id])[key.key_id], private_key)

    def _add(self, identity: Identity, name: str, project_id: int, public_key: str, fingerprint: str,
             tags: dict[str, str], private_key: str | None) -> KeyPairView:
        sshkeys.check_key_name(name)
        with self.db.write() as repo:
            repo.lock(f"keypairs:{identity.uin}")
            existing = repo.key_pairs_of(identity.uin)
            if any(k.name == name for k in existing):
                raise errors.InvalidKeyPairNameDuplicate(f"A key pair named `{name}` already exists.")
            if any(k.fingerprint == fingerprint for k in existing):
                raise errors.InvalidPublicKeyDuplicate("This public key is already imported as another key pair.")
            if len(existing) >= MAX_KEY_PAIRS:
                raise errors.InvalidKeyPairLimitExceeded(f"An account can have at most {MAX_KEY_PAIRS} key pairs.")
            key = repo.add(KeyPair(key_id=new_id("skey"), owner_uin=identity.uin, name=name, project_id=project_id,
                                   description="", public_key=public_key, fingerprint=fingerprint, created_at=utcnow()))
            if tags:
                repo.set_tags(key.key_id, tags)
            return self._view(repo, key, private_key)

    def create(self, identity: Identity, name: str, project_id: int, tags: dict[str, str]) -> KeyPairView:
        sshkeys.check_key_name(name)
        public, private = sshkeys.generate_key_pair()
        parsed = sshkeys.parse_public_key(public)
        return self._add(identity, name, project_id, public, parsed.fingerprint_sha256, tags, private)

    def import_key(self, identity: Identity, name: str, project_id: int, public_key: str, tags: dict[str, str]) -> KeyPairView:
        sshkeys.check_key_name(name)
        parsed = sshkeys.parse_public_key(public_key)
        return self._add(identity, name, project_id, public_key.strip(), parsed.fingerprint_sha256, tags, None)

    def describe(self, identity: Identity, ids: list[str] | None, filters: list[dict] | None, offset: int | None,
                 limit: int | None, visible: Callable[[str], bool] | None = None) -> tuple[int, list[KeyPairView]]:
        query = check_describe("DescribeKeyPairs", "KeyIds", ids, filters, KEY_FILTERS, offset, limit,
                               id_kind=IdKind("skey", errors.InvalidKeyPairIdMalformed, "key pair"))
        with self.db.read() as repo:
            views = [self._view(repo, k) for k in repo.key_pairs_of(identity.uin, ids)
                     if visible is None or visible(k.key_id)]
        found = match_all(views, query.filters, _key_matches)
        return len(found), query.page.of(found)

    def delete(self, identity: Identity, ids: list[str]) -> None:
        with self.db.write() as repo:
            repo.lock_all(KeyPair, require_ids("KeyIds", ids))
            keys = [self.own(repo, identity, k) for k in dict.fromkeys(ids)]
            for key in keys:
                bound = repo.instances_with_key(key.key_id)
                if bound:
                    raise errors.UnsupportedOperation(
                        f"The key pair `{key.key_id}` is bound to {', '.join(bound)}; unbind it first."
                    )
            for key in keys:
                repo.delete_key_pair(key.key_id)

    def modify(self, identity: Identity, key_id: str, name: str | None = None, description: str | None = None) -> None:
        """ModifyKeyPairAttribute: the name and/or the description (None: unchanged)."""
        with self.db.write() as repo:
            key = self.own(repo, identity, key_id)
            if name is not None:
                sshkeys.check_key_name(name)
                if any(k.name == name and k.key_id != key.key_id for k in repo.key_pairs_of(identity.uin)):
                    raise errors.InvalidKeyPairNameDuplicate(f"A key pair named `{name}` already exists.")
                key.name = name
            if description is not None:
                if len(description) > 60:
                    raise errors.InvalidParameterValueTooLong("Description must be at most 60 characters.")
                key.description = description

    def bind(self, identity: Identity, region: str, instance_ids: list[str], key_ids: list[str], *, associate: bool,
             force_stop: bool, instances) -> None:
        with self.db.write() as repo:
            repo.lock_all(KeyPair, key_ids)
            keys = [self.own(repo, identity, k) for k in dict.fromkeys(key_ids)]
            rows = instances.own_many(repo, identity, region, instance_ids)
            action = "AssociateInstancesKeyPairs" if associate else "DisassociateInstancesKeyPairs"
            for row in rows:
                if row.os_type == "Windows":
                    raise errors.UnsupportedOperationKeyPairUnsupportedWindows(
                        f"The instance `{row.instance_id}` runs Windows; Windows instances do not support key pairs."
                    )
                if row.state == "RUNNING" and not force_stop:
                    raise errors.instance_state_error(row.state, row.instance_id,
                                                      "binding key pairs without ForceStop (stop it first)")
                lifecycle.check_operation(row, action, what="binding key pairs")
            for row in rows:
                current = repo.key_ids_of(row.instance_id)
                wanted = [k.key_id for k in keys]
                new = current + [k for k in wanted if k not in current] if associate else [k for k in current if k not in wanted]
                repo.set_instance_keys(row.instance_id, new)


def _key_matches(v: KeyPairView, name: str, values: list[str]) -> bool:
    """One DescribeKeyPairs filter."""
    if name == "project-id":
        return str(v.project_id) in values
    if name == "key-name":
        return any(x in v.name for x in values)
    if (tagged := tag_matches(v.tags, name, values)) is not None:
        return tagged
    return False

"""CAM policies: custom ones (with up to five versions, the default one in force) and the preset
ones, and their attachments to sub-users and groups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ...clock import Clock
from ...store.db import Database
from ...store.models_cam import CamAttachment, CamPolicy, CamPolicyVersion
from ...store.repo_cam import CamRepo
from .. import errors
from . import documents
from .accounts import Identity
from .groups import GroupService
from .presets import BY_ID, FIRST_CUSTOM_POLICY_ID, PRESETS
from .users import UserService

MAX_VERSIONS = 5  # CAM keeps at most five versions of a policy
CUSTOM, PRESET = 1, 2  # the API's policy Type
_NAME = re.compile(r"[A-Za-z0-9_+=,.@-]{1,128}")


@dataclass(frozen=True)
class PolicyView:
    policy_id: int
    name: str
    description: str
    type: int  # 1 custom, 2 preset
    document: str
    service_type: str
    created_at: datetime | None
    updated_at: datetime | None
    attachments: int = 0


@dataclass(frozen=True)
class VersionView:
    version: int
    created_at: datetime
    is_default: bool
    document: str


@dataclass(frozen=True)
class AttachedView:
    policy: PolicyView
    attached_at: datetime
    via_group: tuple[int, str] | None = None  # (group id, name) when attached through a group


@dataclass(frozen=True)
class EntityView:
    kind: str  # user | group
    id: str
    name: str
    uin: int | None
    attached_at: datetime


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name or ""):
        raise errors.InvalidParameterPolicyNameError(f"PolicyName `{(name or '')[:80]}`: 1 to 128 letters, digits or _+=,.@-.")


def _check_description(text: str | None) -> None:
    if text and len(text) > 300:
        raise errors.InvalidParameterDescriptionLengthOverlimit("Description is at most 300 characters.")


class PolicyService:
    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock

    # --- reading ------------------------------------------------------------------------------------
    def view(self, cam: CamRepo, owner: Identity, policy_id: int, attachments: int = 0) -> PolicyView:
        preset = BY_ID.get(int(policy_id))
        if preset is not None:
            return PolicyView(preset.policy_id, preset.name, preset.description, PRESET, preset.document,
                              preset.service_type, None, None, attachments)
        row = self.custom(cam, owner, policy_id)
        version = cam.version(row.policy_id, row.default_version)
        return PolicyView(int(row.policy_id), row.name, row.description, CUSTOM, version.document if version else "",
                          "", row.created_at, row.updated_at, attachments)

    @staticmethod
    def custom(cam: CamRepo, owner: Identity, policy_id: int) -> CamPolicy:
        row = cam.policy(owner.uin, int(policy_id))
        if row is None:
            if int(policy_id) in BY_ID:
                raise errors.FailedOperationUnmodifiable(f"The policy {policy_id} is a preset policy and cannot be changed.")
            raise errors.ResourceNotFoundPolicyIdNotFound(f"The policy {policy_id} does not exist.")
        return row

    def get(self, owner: Identity, policy_id: int) -> PolicyView:
        with self.db.read() as repo:
            return self.view(CamRepo(repo), owner, policy_id)

    def list(self, owner: Identity, scope: str | None, keyword: str | None) -> list[PolicyView]:
        """``scope``: All (default), QCS (preset only) or Local (custom only)."""
        scope = scope or "All"
        if scope not in ("All", "QCS", "Local"):
            raise errors.InvalidParameterParamError(f"Scope `{scope[:20]}` is not All, QCS or Local.")
        with self.db.read() as repo:
            cam = CamRepo(repo)
            counts = cam.attachment_counts(owner.uin)
            out = [self.view(cam, owner, p.policy_id, counts.get(p.policy_id, 0)) for p in PRESETS] if scope != "Local" else []
            if scope != "QCS":
                out += [self.view(cam, owner, p.policy_id, counts.get(int(p.policy_id), 0)) for p in cam.policies(owner.uin)]
        return [p for p in out if not keyword or keyword.lower() in p.name.lower()]

    # --- writing ------------------------------------------------------------------------------------
    def create(self, owner: Identity, name: str, document: str, description: str = "") -> int:
        _check_name(name)
        _check_description(description)
        documents.parse(document)
        with self.db.write() as repo:
            cam = CamRepo(repo)
            repo.lock("cam_policies")
            if cam.policy_by_name(owner.uin, name) or any(p.name == name for p in PRESETS):
                raise errors.FailedOperationPolicyNameInUse(f"A policy named `{name}` already exists.")
            now = self.clock.now()
            policy = CamPolicy(policy_id=max(cam.max_policy_id() + 1, FIRST_CUSTOM_POLICY_ID), owner_uin=owner.uin,
                               name=name, description=description or "", default_version=1, created_at=now, updated_at=now)
            cam.add(policy)
            cam.add(CamPolicyVersion(policy_id=policy.policy_id, version=1, document=document, revision=1, created_at=now))
            return int(policy.policy_id)

    def update(self, owner: Identity, policy_id: int, name: str | None, description: str | None,
               document: str | None) -> int:
        """UpdatePolicy: a new document replaces the default version's (and the owner's CAM generation
        moves on, so the next call sees it)."""
        if name is not None:
            _check_name(name)
        _check_description(description)
        if document is not None:
            documents.parse(document)
        with self.db.write() as repo:
            cam = CamRepo(repo)
            row = self.custom(cam, owner, policy_id)
            if name is not None and name != row.name:
                if cam.policy_by_name(owner.uin, name):
                    raise errors.FailedOperationPolicyNameInUse(f"A policy named `{name}` already exists.")
                row.name = name
            if description is not None:
                row.description = description
            if document is not None:
                version = cam.version(row.policy_id, row.default_version)
                version.document, version.revision = document, version.revision + 1
            row.updated_at = self.clock.now()
            cam.changed(owner.uin)
            return int(row.policy_id)

    def delete(self, owner: Identity, policy_ids: list[int]) -> None:
        with self.db.write() as repo:
            cam = CamRepo(repo)
            for row in [self.custom(cam, owner, p) for p in dict.fromkeys(policy_ids)]:
                cam.delete_policy(row)
            cam.changed(owner.uin)

    # --- versions -----------------------------------------------------------------------------------
    def create_version(self, owner: Identity, policy_id: int, document: str, set_default: bool) -> int:
        documents.parse(document)
        with self.db.write() as repo:
            cam = CamRepo(repo)
            row = self.custom(cam, owner, policy_id)
            versions = cam.versions(row.policy_id)
            if len(versions) >= MAX_VERSIONS:
                raise errors.FailedOperationPolicyVersionFull(
                    f"The policy {policy_id} already has {MAX_VERSIONS} versions: delete one first."
                )
            number = max(v.version for v in versions) + 1
            cam.add(CamPolicyVersion(policy_id=row.policy_id, version=number, document=document, revision=1,
                                     created_at=self.clock.now()))
            if set_default:
                row.default_version = number
                cam.changed(owner.uin)
            row.updated_at = self.clock.now()
            return number

    def versions(self, owner: Identity, policy_id: int) -> list[VersionView]:
        with self.db.read() as repo:
            cam = CamRepo(repo)
            row = self.custom(cam, owner, policy_id)
            return [VersionView(v.version, v.created_at, v.version == row.default_version, v.document)
                    for v in cam.versions(row.policy_id)]

    def set_default(self, owner: Identity, policy_id: int, version: int) -> None:
        with self.db.write() as repo:
            cam = CamRepo(repo)
            row = self.custom(cam, owner, policy_id)
            if cam.version(row.policy_id, int(version)) is None:
                raise errors.InvalidParameterPolicyVersionNotExists(f"The policy {policy_id} has no version {version}.")
            row.default_version = int(version)
            cam.changed(owner.uin)

    def delete_versions(self, owner: Identity, policy_id: int, versions: list[int]) -> None:
        with self.db.write() as repo:
            cam = CamRepo(repo)
            row = self.custom(cam, owner, policy_id)
            for number in dict.fromkeys(int(v) for v in versions):
                if number == row.default_version:
                    raise errors.FailedOperationPolicyVersionAlreadyDefault(
                        f"Version {number} is the default version of policy {policy_id}: set another default first."
                    )
                found = cam.version(row.policy_id, number)
                if found is None:
                    raise errors.InvalidParameterPolicyVersionNotExists(f"The policy {policy_id} has no version {number}.")
                cam.remove(found)

    # --- attachments ----------------------------------------------------------------------------
    def attach(self, owner: Identity, policy_id: int, kind: str, target: str, *, attach: bool) -> None:
        """Attach (or detach) a policy to a sub-user (``kind`` user, ``target`` its Uin) or a group."""
        with self.db.write() as repo:
            cam = CamRepo(repo)
            self.view(cam, owner, policy_id)
            if kind == "user":
                UserService.by_uin(cam, owner, target)
            else:
                GroupService.find(cam, owner, int(target))
            found = cam.attachment(int(policy_id), kind, str(target))
            if attach and found is None:
                cam.add(CamAttachment(owner_uin=owner.uin, policy_id=int(policy_id), kind=kind, target=str(target),
                                      created_at=self.clock.now()))
            elif not attach and found is not None:
                cam.remove(found)
            cam.changed(owner.uin)

    def attached(self, owner: Identity, kind: str, target: str, *, with_groups: bool = False) -> list[AttachedView]:
        with self.db.read() as repo:
            cam = CamRepo(repo)
            if kind == "user":
                UserService.by_uin(cam, owner, target)
            else:
                GroupService.find(cam, owner, int(target))
            out = [AttachedView(self.view(cam, owner, a.policy_id), a.created_at) for a in cam.attachments_of(kind, str(target))]
            if with_groups:
                for group in cam.groups_of(str(target)):
                    out += [AttachedView(self.view(cam, owner, a.policy_id), a.created_at, (int(group.group_id), group.name))
                            for a in cam.attachments_of("group", str(group.group_id))]
            return out

    def entities(self, owner: Identity, policy_id: int, entity_filter: str | None) -> list[EntityView]:
        entity_filter = entity_filter or "All"
        if entity_filter not in ("All", "User", "Group"):
            raise errors.InvalidParameterEntityFilterError(f"EntityFilter `{entity_filter[:20]}` is not All, User or Group.")
        with self.db.read() as repo:
            cam = CamRepo(repo)
            self.view(cam, owner, policy_id)
            out = []
            for a in cam.attachments_for_policy(owner.uin, int(policy_id)):
                if a.kind == "user" and entity_filter in ("All", "User"):
                    user = cam.user_by_uin(owner.uin, a.target)
                    if user is not None:
                        out.append(EntityView("user", str(user.uid), user.name, int(user.uin), a.created_at))
                elif a.kind == "group" and entity_filter in ("All", "Group"):
                    group = cam.group(owner.uin, int(a.target))
                    if group is not None:
                        out.append(EntityView("group", str(group.group_id), group.name, None, a.created_at))
            return out

"""CAM queries: sub-users, access keys, groups, policies and attachments."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from .keys import KeyReader
from .models import Account
from .models_cam import (CamAccessKey, CamAttachment, CamGroup, CamGroupMember, CamPolicy, CamPolicyVersion,
                         CamUser)
from .repo import Repo

# The policies in force for one sub-user (its own and its groups'), with the default version's
# document of custom ones (NULL for preset ones): the one read of the policy check (on a cache miss).
_ATTACHED = (
    "SELECT a.policy_id, v.document FROM cam_attachments a "
    "LEFT JOIN cam_policies p ON p.policy_id = a.policy_id "
    "LEFT JOIN cam_policy_versions v ON v.policy_id = p.policy_id AND v.version = p.default_version "
    "WHERE (a.kind = 'user' AND a.target = {0}) OR (a.kind = 'group' AND a.target IN "
    "(SELECT CAST(m.group_id AS VARCHAR(20)) FROM cam_group_members m WHERE m.user_uin = {0}))"
)


class PolicyReader:
    """The policy check's reads, outside any ORM session (see store/keys.py)."""

    def __init__(self, keys: KeyReader):
        self.keys = keys
        self.attached_sql = _ATTACHED.format(keys.placeholder)

    def attached(self, user_uin: str) -> list[tuple[int, str | None]]:
        """(policy id, default version's document or None for a preset policy) of each policy attached
        to the user or one of its groups."""
        return [(int(p), d) for p, d in self.keys.rows(self.attached_sql, (user_uin, user_uin))]


class CamRepo:
    def __init__(self, repo: Repo):
        self.session = repo.session

    def changed(self, owner: str) -> None:
        """Something that may change what the owner's sub-users may do was written: bump the
        generation the key lookup reads, so every process drops its cached policy lists."""
        self.session.execute(update(Account).where(Account.uin == owner)
                             .values(cam_generation=Account.cam_generation + 1))

    def add(self, row) -> None:
        self.session.add(row)
        self.session.flush()

    def remove(self, row) -> None:
        self.session.delete(row)
        self.session.flush()

    # --- users and keys ------------------------------------------------------------------------
    def user(self, owner: str, name: str) -> CamUser | None:
        return self.session.scalar(select(CamUser).where(CamUser.owner_uin == owner, CamUser.name == name))

    def user_by_uin(self, owner: str, uin: str) -> CamUser | None:
        row = self.session.get(CamUser, uin)
        return row if row is not None and row.owner_uin == owner else None

    def user_by_uid(self, owner: str, uid: int) -> CamUser | None:
        return self.session.scalar(select(CamUser).where(CamUser.owner_uin == owner, CamUser.uid == uid))

    def users(self, owner: str) -> list[CamUser]:
        return list(self.session.scalars(select(CamUser).where(CamUser.owner_uin == owner).order_by(CamUser.uid)))

    def max_user_numbers(self) -> tuple[int, int]:
        row = self.session.execute(select(func.max(CamUser.uin), func.max(CamUser.uid))).one()
        return int(row[0] or 0), int(row[1] or 0)

    def keys_of(self, user_uin: str) -> list[CamAccessKey]:
        return list(self.session.scalars(select(CamAccessKey).where(CamAccessKey.user_uin == user_uin)
                                         .order_by(CamAccessKey.created_at, CamAccessKey.secret_id)))

    def key(self, secret_id: str) -> CamAccessKey | None:
        return self.session.get(CamAccessKey, secret_id)

    def delete_user(self, user: CamUser) -> None:
        for model, column in ((CamAccessKey, CamAccessKey.user_uin), (CamGroupMember, CamGroupMember.user_uin)):
            self.session.execute(delete(model).where(column == user.uin))
        self.session.execute(delete(CamAttachment).where(CamAttachment.kind == "user", CamAttachment.target == user.uin))
        self.remove(user)

    # --- groups --------------------------------------------------------------------------------
    def group(self, owner: str, group_id: int) -> CamGroup | None:
        row = self.session.get(CamGroup, group_id)
        return row if row is not None and row.owner_uin == owner else None

    def group_by_name(self, owner: str, name: str) -> CamGroup | None:
        return self.session.scalar(select(CamGroup).where(CamGroup.owner_uin == owner, CamGroup.name == name))

    def groups(self, owner: str) -> list[CamGroup]:
        return list(self.session.scalars(select(CamGroup).where(CamGroup.owner_uin == owner).order_by(CamGroup.group_id)))

    def max_group_id(self) -> int:
        return int(self.session.scalar(select(func.max(CamGroup.group_id))) or 0)

    def members(self, group_id: int) -> list[CamUser]:
        return list(self.session.scalars(select(CamUser).join(CamGroupMember, CamGroupMember.user_uin == CamUser.uin)
                                         .where(CamGroupMember.group_id == group_id).order_by(CamUser.uid)))

    def membership(self, group_id: int, user_uin: str) -> CamGroupMember | None:
        return self.session.get(CamGroupMember, (group_id, user_uin))

    def groups_of(self, user_uin: str) -> list[CamGroup]:
        return list(self.session.scalars(select(CamGroup).join(CamGroupMember, CamGroupMember.group_id == CamGroup.group_id)
                                          .where(CamGroupMember.user_uin == user_uin).order_by(CamGroup.group_id)))

    def delete_group(self, group: CamGroup) -> None:
        self.session.execute(delete(CamGroupMember).where(CamGroupMember.group_id == group.group_id))
        self.session.execute(delete(CamAttachment).where(CamAttachment.kind == "group",
                                                         CamAttachment.target == str(group.group_id)))
        self.remove(group)

    # --- policies and attachments --------------------------------------------------------------
    def policy(self, owner: str, policy_id: int) -> CamPolicy | None:
        row = self.session.get(CamPolicy, policy_id)
        return row if row is not None and row.owner_uin == owner else None

    def policy_by_name(self, owner: str, name: str) -> CamPolicy | None:
        return self.session.scalar(select(CamPolicy).where(CamPolicy.owner_uin == owner, CamPolicy.name == name))

    def policies(self, owner: str) -> list[CamPolicy]:
        return list(self.session.scalars(select(CamPolicy).where(CamPolicy.owner_uin == owner)
                                          .order_by(CamPolicy.policy_id)))

    def max_policy_id(self) -> int:
        return int(self.session.scalar(select(func.max(CamPolicy.policy_id))) or 0)

    def versions(self, policy_id: int) -> list[CamPolicyVersion]:
        return list(self.session.scalars(select(CamPolicyVersion).where(CamPolicyVersion.policy_id == policy_id)
                                          .order_by(CamPolicyVersion.version)))

    def version(self, policy_id: int, version: int) -> CamPolicyVersion | None:
        return self.session.get(CamPolicyVersion, (policy_id, version))

    def delete_policy(self, policy: CamPolicy) -> None:
        self.session.execute(delete(CamAttachment).where(CamAttachment.policy_id == policy.policy_id))
        self.session.execute(delete(CamPolicyVersion).where(CamPolicyVersion.policy_id == policy.policy_id))
        self.remove(policy)

    def attachment(self, policy_id: int, kind: str, target: str) -> CamAttachment | None:
        return self.session.get(CamAttachment, (policy_id, kind, target))

    def attachments_of(self, kind: str, target: str) -> list[CamAttachment]:
        return list(self.session.scalars(select(CamAttachment).where(CamAttachment.kind == kind, CamAttachment.target == target)
                                          .order_by(CamAttachment.created_at, CamAttachment.policy_id)))

    def attachments_for_policy(self, owner: str, policy_id: int) -> list[CamAttachment]:
        return list(self.session.scalars(select(CamAttachment).where(CamAttachment.owner_uin == owner,
                                                                     CamAttachment.policy_id == policy_id)
                                          .order_by(CamAttachment.created_at)))

    def attachment_counts(self, owner: str) -> dict[int, int]:
        rows = self.session.execute(select(CamAttachment.policy_id, func.count()).where(CamAttachment.owner_uin == owner)
                                    .group_by(CamAttachment.policy_id))
        return {int(p): int(n) for p, n in rows}

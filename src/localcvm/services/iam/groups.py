"""CAM user groups: a user in a group has the group's policies (CreateGroup, AddUserToGroup, ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ...clock import Clock
from ...store.db import Database
from ...store.models_cam import CamGroup, CamGroupMember
from ...store.repo_cam import CamRepo
from .. import errors
from .accounts import Identity
from .users import UserView, check_lengths, user_view

FIRST_GROUP_ID = 1000001
_NAME = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")


@dataclass(frozen=True)
class GroupView:
    group_id: int
    name: str
    remark: str
    created_at: datetime


@dataclass(frozen=True)
class GroupDetail:
    group: GroupView
    members: list[UserView]


def group_view(g: CamGroup) -> GroupView:
    return GroupView(int(g.group_id), g.name, g.remark, g.created_at)


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name or ""):
        raise errors.InvalidParameterParamError(f"GroupName `{(name or '')[:80]}`: 1 to 64 letters, digits or _+=,.@-.")


class GroupService:
    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock

    @staticmethod
    def find(cam: CamRepo, owner: Identity, group_id: int) -> CamGroup:
        group = cam.group(owner.uin, int(group_id))
        if group is None:
            raise errors.ResourceNotFoundGroupNotExist(f"The group {group_id} does not exist.")
        return group

    def create(self, owner: Identity, name: str, remark: str = "") -> int:
        _check_name(name)
        check_lengths(remark=remark)
        with self.db.write() as repo:
            cam = CamRepo(repo)
            repo.lock("cam_groups")
            if cam.group_by_name(owner.uin, name):
                raise errors.InvalidParameterGroupNameInUse(f"A group named `{name}` already exists.")
            group = CamGroup(group_id=max(cam.max_group_id() + 1, FIRST_GROUP_ID), owner_uin=owner.uin, name=name,
                             remark=remark or "", created_at=self.clock.now())
            cam.add(group)
            return int(group.group_id)

    def get(self, owner: Identity, group_id: int) -> GroupDetail:
        with self.db.read() as repo:
            cam = CamRepo(repo)
            group = self.find(cam, owner, group_id)
            return GroupDetail(group_view(group), [user_view(u) for u in cam.members(group.group_id)])

    def list(self, owner: Identity, keyword: str | None = None) -> list[GroupView]:
        with self.db.read() as repo:
            groups = [group_view(g) for g in CamRepo(repo).groups(owner.uin)]
        return [g for g in groups if not keyword or keyword.lower() in g.name.lower()]

    def update(self, owner: Identity, group_id: int, name: str | None, remark: str | None) -> None:
        if name is not None:
            _check_name(name)
        check_lengths(remark=remark)
        with self.db.write() as repo:
            cam = CamRepo(repo)
            group = self.find(cam, owner, group_id)
            if name is not None and name != group.name:
                if cam.group_by_name(owner.uin, name):
                    raise errors.InvalidParameterGroupNameInUse(f"A group named `{name}` already exists.")
                group.name = name
            if remark is not None:
                group.remark = remark

    def delete(self, owner: Identity, group_id: int) -> None:
        with self.db.write() as repo:
            cam = CamRepo(repo)
            cam.delete_group(self.find(cam, owner, group_id))
            cam.changed(owner.uin)

    def _member(self, cam: CamRepo, owner: Identity, entry: dict):
        group = self.find(cam, owner, entry["GroupId"])
        if entry.get("Uin"):
            user = cam.user_by_uin(owner.uin, str(entry["Uin"]))
        elif entry.get("Uid"):
            user = cam.user_by_uid(owner.uin, int(entry["Uid"]))
        else:
            raise errors.InvalidParameterParamError("Info: each entry needs Uid or Uin.")
        if user is None:
            raise errors.ResourceNotFoundUserNotExist(f"The sub-user {entry.get('Uin') or entry.get('Uid')} does not exist.")
        return group, user

    def add_members(self, owner: Identity, entries: list[dict]) -> None:
        """``entries``: ``[{"GroupId", "Uid" or "Uin"}]`` (the wire's GroupIdOfUidInfo)."""
        with self.db.write() as repo:
            cam = CamRepo(repo)
            for entry in entries:
                group, user = self._member(cam, owner, entry)
                if cam.membership(group.group_id, user.uin) is None:
                    cam.add(CamGroupMember(group_id=group.group_id, user_uin=user.uin, created_at=self.clock.now()))
            cam.changed(owner.uin)

    def remove_members(self, owner: Identity, entries: list[dict]) -> None:
        with self.db.write() as repo:
            cam = CamRepo(repo)
            for entry in entries:
                group, user = self._member(cam, owner, entry)
                found = cam.membership(group.group_id, user.uin)
                if found is not None:
                    cam.remove(found)
            cam.changed(owner.uin)

    def groups_for_user(self, owner: Identity, uin=None, uid=None) -> list[GroupView]:
        with self.db.read() as repo:
            cam = CamRepo(repo)
            user = cam.user_by_uin(owner.uin, str(uin)) if uin else cam.user_by_uid(owner.uin, int(uid or 0))
            if user is None:
                raise errors.ResourceNotFoundUserNotExist(f"The sub-user {uin or uid} does not exist.")
            return [group_view(g) for g in cam.groups_of(user.uin)]

    def users_for_group(self, owner: Identity, group_id: int) -> list[UserView]:
        return self.get(owner, group_id).members

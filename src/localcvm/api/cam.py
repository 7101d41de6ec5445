"""CAM actions (cam 2019-01-16): sub-users, API keys, groups, policies and their attachments.

CAM is a global service (no Region). The caller's root account (``identity.uin``) owns every
sub-user, group and custom policy; a sub-user calling CAM acts on its owner's, as its policies allow.
"""

from __future__ import annotations

from ..services import errors
from ..services.iam.groups import GroupView
from ..services.iam.users import AccessKeyView, UserView
from .render import cbs_time
from .routes import CallContext, action


def cam(name: str):
    return action("cam", name, regional=False)


def paged(items: list, p: dict, rp_default: int = 20) -> list:
    page, rp = p.get("Page") or 1, p.get("Rp") or rp_default
    if page < 1 or not 1 <= rp <= 200:
        raise errors.InvalidParameterParamError("Page starts at 1 and Rp is 1 to 200.")
    return items[(page - 1) * rp: page * rp]


def user_dict(u: UserView) -> dict:
    return {"Uin": int(u.uin), "Name": u.name, "Uid": u.uid, "Remark": u.remark, "ConsoleLogin": int(u.console_login),
            "PhoneNum": u.phone, "CountryCode": u.country_code, "Email": u.email, "CreateTime": cbs_time(u.created_at),
            "NickName": u.name}


def member_dict(u: UserView) -> dict:
    return {"Uid": u.uid, "Uin": int(u.uin), "Name": u.name, "PhoneNum": u.phone, "CountryCode": u.country_code,
            "PhoneFlag": 0, "Email": u.email, "EmailFlag": 0, "UserType": 0, "CreateTime": cbs_time(u.created_at),
            "IsReceiverOwner": 0, "Remark": u.remark}


def group_dict(g: GroupView) -> dict:
    return {"GroupId": g.group_id, "GroupName": g.name, "CreateTime": cbs_time(g.created_at), "Remark": g.remark}


def key_dict(k: AccessKeyView) -> dict:
    out = {"AccessKeyId": k.secret_id, "Status": "Active" if k.active else "Inactive",
           "CreateTime": cbs_time(k.created_at), "Description": k.description}
    if k.secret_key:
        out["SecretAccessKey"] = k.secret_key
    return out


# --- users -----------------------------------------------------------------------------------------
@cam("AddUser")
def add_user(ctx: CallContext, p: dict) -> dict:
    made = ctx.services.cam.users.add(
        ctx.identity, p["Name"], remark=p.get("Remark") or "", console_login=p.get("ConsoleLogin") == 1,
        use_api=p.get("UseApi") == 1, password=p.get("Password"), need_reset=p.get("NeedResetPassword") == 1,
        phone=p.get("PhoneNum") or "", country_code=p.get("CountryCode") or "", email=p.get("Email") or "")
    return {"Uin": int(made.user.uin), "Name": made.user.name, "Uid": made.user.uid, "Password": made.password,
            "SecretId": made.secret_id, "SecretKey": made.secret_key}


@cam("GetUser")
def get_user(ctx: CallContext, p: dict) -> dict:
    u = ctx.services.cam.users.get(ctx.identity, p["Name"])
    out = user_dict(u)
    out.pop("CreateTime")
    out.pop("NickName")
    return out


@cam("ListUsers")
def list_users(ctx: CallContext, p: dict) -> dict:
    return {"Data": [user_dict(u) for u in ctx.services.cam.users.list(ctx.identity)]}


@cam("UpdateUser")
def update_user(ctx: CallContext, p: dict) -> dict:
    changes = {"remark": p.get("Remark"), "console_login": None if p.get("ConsoleLogin") is None else p["ConsoleLogin"] == 1,
               "password": p.get("Password"), "phone": p.get("PhoneNum"), "country_code": p.get("CountryCode"),
               "email": p.get("Email"),
               "need_reset": None if p.get("NeedResetPassword") is None else p["NeedResetPassword"] == 1}
    ctx.services.cam.users.update(ctx.identity, p["Name"], changes)
    return {}


@cam("DeleteUser")
def delete_user(ctx: CallContext, p: dict) -> dict:
    ctx.services.cam.users.delete(ctx.identity, p["Name"], force=p.get("Force") == 1)
    return {}


@cam("GetUserAppId")
def get_user_app_id(ctx: CallContext, p: dict) -> dict:
    who = ctx.identity
    return {"Uin": who.caller, "OwnerUin": who.uin, "AppId": who.app_id}


# --- API keys (TargetUin: a sub-user; none: the caller itself) -------------------------------------
def _target(ctx: CallContext, p: dict):
    if p.get("TargetUin"):
        return p["TargetUin"]
    if ctx.identity.is_root:
        raise errors.InvalidParameterParamError(
            "TargetUin is required: the root account's own keys are managed with `localcvm accounts keys`."
        )
    return ctx.identity.caller_uin


@cam("CreateAccessKey")
def create_access_key(ctx: CallContext, p: dict) -> dict:
    return {"AccessKey": key_dict(ctx.services.cam.users.create_key(ctx.identity, _target(ctx, p), p.get("Description") or ""))}


@cam("ListAccessKeys")
def list_access_keys(ctx: CallContext, p: dict) -> dict:
    return {"AccessKeys": [key_dict(k) for k in ctx.services.cam.users.list_keys(ctx.identity, _target(ctx, p))]}


@cam("UpdateAccessKey")
def update_access_key(ctx: CallContext, p: dict) -> dict:
    if p["Status"] not in ("Active", "Inactive"):
        raise errors.InvalidParameterParamError(f"Status `{p['Status'][:20]}` is not Active or Inactive.")
    ctx.services.cam.users.set_key_status(ctx.identity, _target(ctx, p), p["AccessKeyId"], p["Status"] == "Active")
    return {}


@cam("DeleteAccessKey")
def delete_access_key(ctx: CallContext, p: dict) -> dict:
    ctx.services.cam.users.delete_key(ctx.identity, _target(ctx, p), p["AccessKeyId"])
    return {}


# --- groups ------------------------------------------------------------------------------------------
@cam("CreateGroup")
def create_group(ctx: CallContext, p: dict) -> dict:
    return {"GroupId": ctx.services.cam.groups.create(ctx.identity, p["GroupName"], p.get("Remark") or "")}


@cam("GetGroup")
def get_group(ctx: CallContext, p: dict) -> dict:
    d = ctx.services.cam.groups.get(ctx.identity, p["GroupId"])
    return dict(group_dict(d.group), GroupNum=len(d.members), UserInfo=[member_dict(u) for u in d.members])


@cam("ListGroups")
def list_groups(ctx: CallContext, p: dict) -> dict:
    groups = ctx.services.cam.groups.list(ctx.identity, p.get("Keyword"))
    return {"TotalNum": len(groups), "GroupInfo": [group_dict(g) for g in paged(groups, p)]}


@cam("UpdateGroup")
def update_group(ctx: CallContext, p: dict) -> dict:
    ctx.services.cam.groups.update(ctx.identity, p["GroupId"], p.get("GroupName"), p.get("Remark"))
    return {}


@cam("DeleteGroup")
def delete_group(ctx: CallContext, p: dict) -> dict:
    ctx.services.cam.groups.delete(ctx.identity, p["GroupId"])
    return {}


@cam("AddUserToGroup")
def add_user_to_group(ctx: CallContext, p: dict) -> dict:
    ctx.services.cam.groups.add_members(ctx.identity, p["Info"])
    return {}


@cam("RemoveUserFromGroup")
def remove_user_from_group(ctx: CallContext, p: dict) -> dict:
    ctx.services.cam.groups.remove_members(ctx.identity, p["Info"])
    return {}


@cam("ListGroupsForUser")
def list_groups_for_user(ctx: CallContext, p: dict) -> dict:
    uin = p.get("SubUin") or (None if p.get("Uid") else ctx.identity.caller_uin)
    groups = ctx.services.cam.groups.groups_for_user(ctx.identity, uin=uin, uid=p.get("Uid"))
    return {"TotalNum": len(groups), "GroupInfo": [group_dict(g) for g in paged(groups, p)]}


@cam("ListUsersForGroup")
def list_users_for_group(ctx: CallContext, p: dict) -> dict:
    users = ctx.services.cam.groups.users_for_group(ctx.identity, p["GroupId"])
    return {"TotalNum": len(users), "UserInfo": [member_dict(u) for u in paged(users, p)]}

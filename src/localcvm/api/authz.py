"""The policy check of every call (CAM), and the one table of the resources each action touches.

Root accounts are allowed everything on their own resources and skip it. For a sub-user the
dispatcher asks ``authorize`` after validating the parameters and before the handler runs, so a
refused call changes nothing. A resource is CAM's six-segment string
``qcs::cvm:ap-guangzhou:uin/<owner>:instance/ins-xxxxxxxx``; an action not listed in RESOURCES is
checked on the action-level resource ``qcs::<service>:<region>:uin/<owner>:*``. List actions
(LISTED) are answered filtered to what the caller may read, and refused only when no statement
could allow the action at all.
"""

from __future__ import annotations

from typing import Callable

from ..services import errors
from ..services.iam import Identity
from ..services.iam.engine import Env, Policies, could_allow, evaluate

Resources = Callable[[dict, str | None, Identity], list[str]]
# Describe* answered filtered to the resources the caller may read: action → resource type
LISTED = {("cvm", "DescribeImages"): "image", ("cvm", "DescribeInstances"): "instance",
          ("cvm", "DescribeKeyPairs"): "keypair", ("cbs", "DescribeDisks"): "disk",
          ("cbs", "DescribeSnapshots"): "snapshot"}


def resource(product: str, region: str | None, owner: str, kind: str, rid: str) -> str:
    return f"qcs::{product}:{region or ''}:uin/{owner}:{kind}/{rid}"


def _of(product: str, *parts: tuple[str, str]) -> Resources:
    """Resources named by parameters: ``(param, kind)``; a list or a single id; param ``*`` = ``kind/*``."""

    def build(p: dict, region: str | None, who: Identity) -> list[str]:
        out = []
        for param, kind in parts:
            if param == "*":
                out.append(resource(product, region, who.uin, kind, "*"))
                continue
            value = p.get(param)
            for rid in (value if isinstance(value, list) else [value] if value else []):
                out.append(resource(product, region, who.uin, kind, str(rid)))
        return out

    return build


def _sync(p: dict, region: str | None, who: Identity) -> list[str]:
    # SyncImages: the source images, and each destination region
    return (_of("cvm", ("ImageIds", "image"))(p, region, who)
            + [resource("cvm", dest, who.uin, "image", "*") for dest in p.get("DestinationRegions") or []])


def _run(p: dict, region: str | None, who: Identity) -> list[str]:
    # RunInstances: the image and the new instances, and the key pairs, security groups and subnet
    # where the request names them
    out = _of("cvm", ("ImageId", "image"), ("*", "instance"))(p, region, who)
    login, vpc = p.get("LoginSettings") or {}, p.get("VirtualPrivateCloud") or {}
    out += [resource("cvm", region, who.uin, "keypair", k) for k in login.get("KeyIds") or []]
    out += [resource("cvm", region, who.uin, "sg", g) for g in p.get("SecurityGroupIds") or []]
    if vpc.get("SubnetId"):
        out.append(resource("vpc", region, who.uin, "subnet", vpc["SubnetId"]))
    return out


_INSTANCES = _of("cvm", ("InstanceIds", "instance"))
RESOURCES: dict[tuple[str, str], Resources] = {
    ("cvm", "RunInstances"): _run,
    ("cvm", "SyncImages"): _sync,
    ("cvm", "ImportImage"): _of("cvm", ("*", "image")),
    ("cvm", "CreateImage"): _of("cvm", ("InstanceId", "instance"), ("*", "image")),
    ("cvm", "ResetInstance"): _of("cvm", ("InstanceId", "instance"), ("ImageId", "image")),
    ("cvm", "ResizeInstanceDisks"): _of("cvm", ("InstanceId", "instance")),
    ("cvm", "CreateKeyPair"): _of("cvm", ("*", "keypair")),
    ("cvm", "ImportKeyPair"): _of("cvm", ("*", "keypair")),
    ("cvm", "DeleteKeyPairs"): _of("cvm", ("KeyIds", "keypair")),
    ("cvm", "ModifyKeyPairAttribute"): _of("cvm", ("KeyId", "keypair")),
    ("cvm", "AssociateInstancesKeyPairs"): _of("cvm", ("InstanceIds", "instance"), ("KeyIds", "keypair")),
    ("cvm", "DisassociateInstancesKeyPairs"): _of("cvm", ("InstanceIds", "instance"), ("KeyIds", "keypair")),
    ("cbs", "CreateDisks"): _of("cbs", ("*", "disk")),
    ("cbs", "AttachDisks"): _of("cbs", ("DiskIds", "disk"), ("InstanceId", "instance")),
    ("cbs", "DetachDisks"): _of("cbs", ("DiskIds", "disk")),
    ("cbs", "TerminateDisks"): _of("cbs", ("DiskIds", "disk")),
    ("cbs", "ResizeDisk"): _of("cbs", ("DiskId", "disk")),
    ("cbs", "CreateSnapshot"): _of("cbs", ("DiskId", "disk"), ("*", "snapshot")),
    ("cbs", "DeleteSnapshots"): _of("cbs", ("SnapshotIds", "snapshot")),
}
for _name in ("StartInstances", "StopInstances", "RebootInstances", "TerminateInstances", "ResetInstancesPassword",
              "ModifyInstancesAttribute", "DescribeInstancesStatus", "DescribeInstancesAttributes"):
    RESOURCES[("cvm", _name)] = _INSTANCES
for _name in ("DeleteImages", "ExportImages", "ModifyImageAttribute", "ModifyImageSharePermission",
              "DescribeImageSharePermission"):
    RESOURCES[("cvm", _name)] = _of("cvm", ("ImageIds", "image"), ("ImageId", "image"))


def resources_for(product: str, action: str, params: dict, region: str | None, who: Identity) -> list[str]:
    build = RESOURCES.get((product, action))
    found = build(params, region, who) if build else []
    return found or [f"qcs::{product}:{region or ''}:uin/{who.uin}:*"]


def refuse(product: str, who: Identity, action: str, res: str, decided_by: str, log: dict | None):
    """Raise the real code (cam: AuthFailure.UnauthorizedOperation; others: UnauthorizedOperation),
    recording the decision in the request log's ``cam_decision``."""
    if log is not None:
        log["cam_decision"] = {"caller": who.caller, "action": action, "resource": res, "decided_by": decided_by}
    error = errors.AuthFailureUnauthorizedOperation if product == "cam" else errors.UnauthorizedOperation
    raise error(f"The sub-user `{who.sub_user}` (Uin {who.caller}) is not authorized to perform `{action}` on "
                f"resource `{res}` (CAM: {'explicit deny by ' + decided_by if decided_by != 'no match' else 'no policy allows it'}).")


def authorize(policies: Policies, env: Env, product: str, action: str, params: dict, who: Identity,
              log: dict | None = None) -> Callable[[str], bool] | None:
    """Refuse (raise) unless the sub-user's policies allow the call; for a list action, the predicate
    (resource string → may read) its answer is filtered with. None: nothing to filter."""
    name = f"{product}:{action}"
    if (product, action) in LISTED:
        if not could_allow(policies, name, env):
            refuse(product, who, name, f"qcs::{product}:{env.region or ''}:uin/{who.uin}:*", "no match", log)
        return lambda res: evaluate(policies, name, res, env).allowed
    for res in resources_for(product, action, params, env.region, who):
        decision = evaluate(policies, name, res, env)
        if not decision.allowed:
            refuse(product, who, name, res, decision.decided_by, log)
    return None

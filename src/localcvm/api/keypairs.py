"""CVM key pair actions."""

from __future__ import annotations

from ..services.tags import tags_for
from ..services.keypairs import KeyPairView
from .render import iso_time, page, tags
from .routes import CallContext, action


def key_dict(v: KeyPairView) -> dict:
    out = {"KeyId": v.key_id, "KeyName": v.name, "ProjectId": v.project_id, "Description": v.description,
           "PublicKey": v.public_key, "AssociatedInstanceIds": list(v.instance_ids), "CreatedTime": iso_time(v.created_at),
           "Tags": tags(v.tags)}
    if v.private_key:
        out["PrivateKey"] = v.private_key
    return out


@action("cvm", "CreateKeyPair")
def create_key_pair(ctx: CallContext, p: dict) -> dict:
    v = ctx.services.keypairs.create(ctx.identity, p["KeyName"], p["ProjectId"], tags_for(p.get("TagSpecification"), "keypair"))
    return {"KeyPair": key_dict(v)}


@action("cvm", "ImportKeyPair")
def import_key_pair(ctx: CallContext, p: dict) -> dict:
    v = ctx.services.keypairs.import_key(ctx.identity, p["KeyName"], p["ProjectId"], p["PublicKey"],
                                         tags_for(p.get("TagSpecification"), "keypair"))
    return {"KeyId": v.key_id}


@action("cvm", "DescribeKeyPairs")
def describe_key_pairs(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.keypairs.describe(ctx.identity, p.get("KeyIds"), p.get("Filters"), p.get("Offset"),
                                                  p.get("Limit"), visible=ctx.visible("keypair"))
    return page(total, [key_dict(v) for v in views], "KeyPairSet")


@action("cvm", "DeleteKeyPairs")
def delete_key_pairs(ctx: CallContext, p: dict) -> dict:
    ctx.services.keypairs.delete(ctx.identity, p["KeyIds"])
    return {}


@action("cvm", "ModifyKeyPairAttribute")
def modify_key_pair_attribute(ctx: CallContext, p: dict) -> dict:
    ctx.services.keypairs.modify(ctx.identity, p["KeyId"], p.get("KeyName"), p.get("Description"))
    return {}


@action("cvm", "AssociateInstancesKeyPairs")
def associate(ctx: CallContext, p: dict) -> dict:
    ctx.services.keypairs.bind(ctx.identity, ctx.region, p["InstanceIds"], p["KeyIds"], associate=True,
                               force_stop=bool(p.get("ForceStop")), instances=ctx.services.instances)
    return {}


@action("cvm", "DisassociateInstancesKeyPairs")
def disassociate(ctx: CallContext, p: dict) -> dict:
    ctx.services.keypairs.bind(ctx.identity, ctx.region, p["InstanceIds"], p["KeyIds"], associate=False,
                               force_stop=bool(p.get("ForceStop")), instances=ctx.services.instances)
    return {}

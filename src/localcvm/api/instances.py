"""CVM instance actions (cvm 2017-03-12)."""

from __future__ import annotations

import json

from ..services.instances import InstanceView
from .images import iso
from .routes import CallContext, action


def _login_user(os_name: str, os_type: str) -> tuple[str, int]:
    if os_type == "Windows":
        return "Administrator", 3389
    return ("ubuntu" if os_name.lower().startswith("ubuntu") else "root"), 22


def instance_dict(v: InstanceView) -> dict:
    r = v.row
    system = next((d for d in v.disks if d.position == 0), None)
    user, port = _login_user(r.os_name, r.os_type)
    internet = json.loads(r.internet or "{}")
    return {
        "Placement": {"Zone": r.zone, "ProjectId": r.project_id},
        "InstanceId": r.instance_id,
        "InstanceType": r.instance_type,
        "CPU": r.cpu,
        "Memory": r.memory_gib,
        "RestrictState": "ISOLATED" if r.state == "SHUTDOWN" else "NORMAL",
        "InstanceName": r.name,
        "InstanceChargeType": r.charge_type,
        "SystemDisk": {"DiskType": system.disk_type, "DiskId": system.disk_id, "DiskSize": system.size_gib} if system else None,
        "DataDisks": [{"DiskSize": d.size_gib, "DiskType": d.disk_type, "DiskId": d.disk_id,
                       "DeleteWithInstance": d.delete_with_instance} for d in v.disks if d.position > 0],
        "PrivateIpAddresses": [r.private_ip] if r.private_ip else [],
        "PublicIpAddresses": [r.public_ip] if r.public_ip else None,
        "InternetAccessible": {
            "InternetChargeType": internet.get("InternetChargeType") or "TRAFFIC_POSTPAID_BY_HOUR",
            "InternetMaxBandwidthOut": internet.get("InternetMaxBandwidthOut", 0),
            "PublicIpAssigned": bool(r.public_ip),
        },
        "ImageId": r.image_id,
        "RenewFlag": r.renew_flag or None,
        "CreatedTime": iso(r.created_at),
        "ExpiredTime": iso(r.expired_at) if r.expired_at else None,
        "OsName": r.os_name,
        "SecurityGroupIds": json.loads(r.security_group_ids or "[]"),
        "LoginSettings": {"KeyIds": v.key_ids} if v.key_ids else {},
        "InstanceState": r.state,
        "Tags": [{"Key": k, "Value": val} for k, val in v.tags.items()],
        "StopChargingMode": r.stopped_mode if r.state == "STOPPED" and r.stopped_mode else "NOT_APPLICABLE",
        "Uuid": r.uuid,
        "LatestOperation": r.latest_operation or None,
        "LatestOperationState": r.latest_operation_state or None,
        "LatestOperationRequestId": r.latest_operation_request_id or None,
        "LatestOperationErrorMsg": r.latest_operation_error or None,
        "IsolatedSource": "NOTISOLATED" if r.state != "SHUTDOWN" else "MANUAL_ISOLATE",
        "LicenseType": r.license_type,
        "DisableApiTermination": r.disable_api_termination,
        "HostName": r.hostname,
        "DefaultLoginUser": user,
        "DefaultLoginPort": port,
        "DisasterRecoverGroupIds": [],
    }


@action("cvm", "RunInstances")
def run_instances(ctx: CallContext, p: dict) -> dict:
    return {"InstanceIdSet": ctx.services.instances.run(ctx.identity, ctx.region, ctx.request_id, p)}


@action("cvm", "DescribeInstances")
def describe_instances(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.instances.describe(ctx.identity, ctx.region, ids=p.get("InstanceIds"),
                                                   filters=p.get("Filters"), offset=p.get("Offset", 0),
                                                   limit=p.get("Limit", 20))
    return {"TotalCount": total, "InstanceSet": [instance_dict(v) for v in views]}


@action("cvm", "DescribeInstancesStatus")
def describe_instances_status(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.instances.describe(ctx.identity, ctx.region, ids=p.get("InstanceIds"), filters=None,
                                                   offset=p.get("Offset", 0), limit=p.get("Limit", 20))
    return {"TotalCount": total, "InstanceStatusSet": [
        {"InstanceId": v.row.instance_id, "InstanceState": v.row.state} for v in views]}


@action("cvm", "StartInstances")
def start_instances(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.start(ctx.identity, ctx.region, ctx.request_id, p["InstanceIds"])
    return {}


@action("cvm", "StopInstances")
def stop_instances(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.stop(ctx.identity, ctx.region, ctx.request_id, p["InstanceIds"], p)
    return {}


@action("cvm", "RebootInstances")
def reboot_instances(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.reboot(ctx.identity, ctx.region, ctx.request_id, p["InstanceIds"], p)
    return {}


@action("cvm", "TerminateInstances")
def terminate_instances(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.terminate(ctx.identity, ctx.region, ctx.request_id, p["InstanceIds"])
    return {}


@action("cvm", "ResetInstance")
def reset_instance(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.reset(ctx.identity, ctx.region, ctx.request_id, p)
    return {}


@action("cvm", "ResizeInstanceDisks")
def resize_instance_disks(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.resize_disks(ctx.identity, ctx.region, ctx.request_id, p)
    return {}


@action("cvm", "ModifyInstancesAttribute")
def modify_instances_attribute(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.modify_attribute(ctx.identity, ctx.region, p)
    return {}


@action("cvm", "ResetInstancesPassword")
def reset_instances_password(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.reset_password(ctx.identity, ctx.region, ctx.request_id, p)
    return {}


@action("cvm", "DescribeInstanceTypeConfigs")
def describe_instance_type_configs(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.instances.type_configs(ctx.region, p.get("Filters"))
    return {"InstanceTypeConfigSet": [
        {"Zone": zone, "InstanceType": t.instance_type, "InstanceFamily": t.family, "GPU": t.gpu, "CPU": t.cpu,
         "Memory": t.memory_gib, "FPGA": 0, "GpuCount": float(t.gpu), "GpuType": t.gpu_type, "GpuMemory": 16.0 if t.gpu else 0.0}
        for zone, t in found]}


@action("cvm", "DescribeZoneInstanceConfigInfos")
def describe_zone_instance_config_infos(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.instances.zone_configs(ctx.region, p.get("Filters"))
    items = []
    for zone, t, charge in found:
        price = {"UnitPrice": t.price_hourly, "ChargeUnit": "HOUR", "UnitPriceDiscount": t.price_hourly, "Discount": 100.0} \
            if charge == "POSTPAID_BY_HOUR" else {"OriginalPrice": round(t.price_hourly * 720, 2),
                                                  "DiscountPrice": round(t.price_hourly * 720, 2), "Discount": 100.0}
        items.append({
            "Zone": zone, "InstanceType": t.instance_type, "InstanceChargeType": charge, "NetworkCard": 25,
            "Externals": {}, "Cpu": t.cpu, "Memory": t.memory_gib, "InstanceFamily": t.family, "TypeName": t.type_name,
            "LocalDiskTypeList": [], "Status": "SELL", "Price": price, "SoldOutReason": "", "InstanceBandwidth": 1.5,
            "InstancePps": 30, "StorageBlockAmount": 0, "CpuType": t.cpu_type, "Gpu": t.gpu, "Fpga": 0, "Remark": "",
            "GpuCount": float(t.gpu), "Frequency": "", "StatusCategory": "EnoughStock",
        })
    return {"InstanceTypeQuotaSet": items}

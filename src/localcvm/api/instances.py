"""CVM instance actions (cvm 2017-03-12)."""

from __future__ import annotations

from ..services.instances import InstanceView
from ..services.instances.requests import (DataDiskRequest, DiskSize, InternetRequest, LoginRequest, ModifyRequest,
                                           PasswordRequest, ResetRequest, ResizeRequest, RunRequest, StopRequest)
from ..services.tags import tags_for
from .launch_templates import with_template
from .render import iso_time, page, tags
from .routes import CallContext, action


def _login_user(os_name: str, os_type: str) -> tuple[str, int]:
    if os_type == "Windows":
        return "Administrator", 3389
    return ("ubuntu" if os_name.lower().startswith("ubuntu") else "root"), 22


def instance_dict(v: InstanceView) -> dict:
    system = v.system_disk
    user, port = _login_user(v.os_name, v.os_type)
    return {
        "Placement": {"Zone": v.zone, "ProjectId": v.project_id},
        "InstanceId": v.instance_id,
        "InstanceType": v.instance_type,
        "CPU": v.cpu,
        "Memory": v.memory_gib,
        "RestrictState": "ISOLATED" if v.state == "SHUTDOWN" else "NORMAL",
        "InstanceName": v.name,
        "InstanceChargeType": v.charge_type,
        "SystemDisk": {"DiskType": system.disk_type, "DiskId": system.disk_id, "DiskSize": system.size_gib} if system else None,
        "DataDisks": [{"DiskSize": d.size_gib, "DiskType": d.disk_type, "DiskId": d.disk_id,
                       "DeleteWithInstance": d.delete_with_instance, "Encrypt": False, "ThroughputPerformance": 0}
                      for d in v.data_disks],
        "PrivateIpAddresses": [v.private_ip] if v.private_ip else [],
        "VirtualPrivateCloud": {"VpcId": v.vpc_id, "SubnetId": v.subnet_id, "AsVpcGateway": False,
                                "PrivateIpAddresses": [v.private_ip] if v.private_ip else [], "Ipv6AddressCount": 0},
        "PublicIpAddresses": [v.public_ip] if v.public_ip else None,
        "InternetAccessible": {
            "InternetChargeType": v.internet_charge_type or "TRAFFIC_POSTPAID_BY_HOUR",
            "InternetMaxBandwidthOut": v.internet_max_bandwidth_out,
            "PublicIpAssigned": bool(v.public_ip),
        },
        "ImageId": v.image_id,
        "RenewFlag": v.renew_flag or None,
        "CreatedTime": iso_time(v.created_at),
        "ExpiredTime": iso_time(v.expired_at),
        "OsName": v.os_name,
        "SecurityGroupIds": list(v.security_group_ids),
        "LoginSettings": {"KeyIds": list(v.key_ids)} if v.key_ids else {},
        "InstanceState": v.state,
        "Tags": tags(v.tags),
        "StopChargingMode": v.stopped_mode if v.state == "STOPPED" and v.stopped_mode else "NOT_APPLICABLE",
        "Uuid": v.uuid,
        "LatestOperation": v.latest_operation or None,
        "LatestOperationState": v.latest_operation_state or None,
        "LatestOperationRequestId": v.latest_operation_request_id or None,
        "LatestOperationErrorMsg": v.latest_operation_error or None,
        "IsolatedSource": "NOTISOLATED" if v.state != "SHUTDOWN" else "MANUAL_ISOLATE",
        "LicenseType": v.license_type,
        "DisableApiTermination": v.disable_api_termination,
        "HostName": v.hostname,
        "DefaultLoginUser": user,
        "DefaultLoginPort": port,
        "DisasterRecoverGroupIds": [],
    }


def _login(p: dict) -> LoginRequest:
    login = p.get("LoginSettings") or {}
    return LoginRequest(key_ids=tuple(login.get("KeyIds") or ()), password=login.get("Password") or None,
                        keep_image_login=login.get("KeepImageLogin"))


def run_request(p: dict) -> RunRequest:
    placement = p.get("Placement") or {}
    system = p.get("SystemDisk") or {}
    net = p.get("InternetAccessible") or {}
    vpc = p.get("VirtualPrivateCloud") or {}
    return RunRequest(
        zone=placement.get("Zone"), project_id=int(placement.get("ProjectId") or 0),
        instance_type=p.get("InstanceType"), image_id=p.get("ImageId"), count=p.get("InstanceCount", 1),
        charge_type=p.get("InstanceChargeType"), prepaid_period=(p.get("InstanceChargePrepaid") or {}).get("Period"),
        system_disk_type=system.get("DiskType"), system_disk_size=system.get("DiskSize"),
        data_disks=tuple(DataDiskRequest(
            disk_size=d["DiskSize"], disk_type=d.get("DiskType"), disk_name=d.get("DiskName"),
            snapshot_id=d.get("SnapshotId"), delete_with_instance=d.get("DeleteWithInstance", True),
            encrypted=bool(d.get("Encrypt") or d.get("KmsKeyId"))) for d in p.get("DataDisks") or []),
        login=_login(p), instance_name=p.get("InstanceName"), hostname=p.get("HostName") or None,
        user_data=p.get("UserData") or None, security_group_ids=tuple(p.get("SecurityGroupIds") or ()),
        vpc_id=vpc.get("VpcId") or None, subnet_id=vpc.get("SubnetId") or None,
        private_ips=tuple(vpc.get("PrivateIpAddresses") or ()),
        internet=InternetRequest(charge_type=net.get("InternetChargeType") or "",
                                 max_bandwidth_out=net.get("InternetMaxBandwidthOut") or 0,
                                 public_ip_assigned=bool(net.get("PublicIpAssigned")),
                                 bandwidth_package_id=net.get("BandwidthPackageId") or ""),
        tags=tags_for(p.get("TagSpecification"), "instance"), client_token=p.get("ClientToken"),
        dry_run=bool(p.get("DryRun")), disable_api_termination=bool(p.get("DisableApiTermination")),
    )


@action("cvm", "RunInstances")
def run_instances(ctx: CallContext, p: dict) -> dict:
    p = with_template(ctx, p)  # the template's values, the request's own winning; then every rule
    return {"InstanceIdSet": ctx.services.instances.run(ctx.identity, ctx.region, ctx.request_id, run_request(p))}


@action("cvm", "DescribeInstances")
def describe_instances(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.instances.describe(ctx.identity, ctx.region, ids=p.get("InstanceIds"),
                                                   filters=p.get("Filters"), offset=p.get("Offset"),
                                                   limit=p.get("Limit"), visible=ctx.visible("instance"))
    return page(total, [instance_dict(v) for v in views], "InstanceSet")


@action("cvm", "DescribeInstancesAttributes")
def describe_instances_attributes(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.instances.user_data(ctx.identity, ctx.region, p["InstanceIds"], p["Attributes"])
    return {"InstanceSet": [{"InstanceId": i, "Attributes": {"UserData": data} if data else {}}
                            for i, data in found.items()]}


@action("cvm", "DescribeInstancesStatus")
def describe_instances_status(ctx: CallContext, p: dict) -> dict:
    total, views = ctx.services.instances.describe(ctx.identity, ctx.region, ids=p.get("InstanceIds"), filters=None,
                                                   offset=p.get("Offset"), limit=p.get("Limit"))
    return page(total, [{"InstanceId": v.instance_id, "InstanceState": v.state} for v in views], "InstanceStatusSet")


@action("cvm", "DescribeInstanceVncUrl")
def describe_instance_vnc_url(ctx: CallContext, p: dict) -> dict:
    return {"InstanceVncUrl": ctx.services.instances.vnc_url(ctx.identity, ctx.region, p.get("InstanceId"))}


@action("cvm", "StartInstances")
def start_instances(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.start(ctx.identity, ctx.region, ctx.request_id, p["InstanceIds"])
    return {}


@action("cvm", "StopInstances")
def stop_instances(ctx: CallContext, p: dict) -> dict:
    req = StopRequest(stop_type=p.get("StopType"), force=bool(p.get("ForceStop")), stopped_mode=p.get("StoppedMode"))
    ctx.services.instances.stop(ctx.identity, ctx.region, ctx.request_id, p["InstanceIds"], req)
    return {}


@action("cvm", "RebootInstances")
def reboot_instances(ctx: CallContext, p: dict) -> dict:
    req = StopRequest(stop_type=p.get("StopType"), force=bool(p.get("ForceReboot")))
    ctx.services.instances.reboot(ctx.identity, ctx.region, ctx.request_id, p["InstanceIds"], req)
    return {}


@action("cvm", "TerminateInstances")
def terminate_instances(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.terminate(ctx.identity, ctx.region, ctx.request_id, p["InstanceIds"])
    return {}


def reset_request(p: dict) -> ResetRequest:
    return ResetRequest(instance_id=p["InstanceId"], image_id=p.get("ImageId") or None,
                        system_disk_size=(p.get("SystemDisk") or {}).get("DiskSize") or None, login=_login(p),
                        hostname=p.get("HostName") or None, user_data=p.get("UserData") or None)


@action("cvm", "ResetInstance")
def reset_instance(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.reset(ctx.identity, ctx.region, ctx.request_id, reset_request(p))
    return {}


def resize_request(p: dict) -> ResizeRequest:
    system = p.get("SystemDisk")
    return ResizeRequest(
        instance_id=p["InstanceId"], system_disk_size=(system.get("DiskSize") or 0) if system else None,
        data_disks=tuple(DiskSize(d.get("DiskId"), d["DiskSize"]) for d in p.get("DataDisks") or []),
        force_stop=bool(p.get("ForceStop")), resize_online=bool(p.get("ResizeOnline")))


@action("cvm", "ResizeInstanceDisks")
def resize_instance_disks(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.resize_disks(ctx.identity, ctx.region, ctx.request_id, resize_request(p))
    return {}


@action("cvm", "ModifyInstancesAttribute")
def modify_instances_attribute(ctx: CallContext, p: dict) -> dict:
    sgs = p.get("SecurityGroups")
    req = ModifyRequest(
        instance_ids=tuple(p["InstanceIds"]), instance_name=p.get("InstanceName"), hostname=p.get("HostName"),
        disable_api_termination=bool(p["DisableApiTermination"]) if "DisableApiTermination" in p else None,
        security_group_ids=tuple(sgs or ()) if "SecurityGroups" in p else None, user_data=p.get("UserData"))
    ctx.services.instances.modify_attribute(ctx.identity, ctx.region, req)
    return {}


@action("cvm", "ResetInstancesPassword")
def reset_instances_password(ctx: CallContext, p: dict) -> dict:
    req = PasswordRequest(instance_ids=tuple(p["InstanceIds"]), password=p["Password"],
                          username=p.get("UserName") or None, force_stop=bool(p.get("ForceStop")))
    ctx.services.instances.reset_password(ctx.identity, ctx.region, ctx.request_id, req)
    return {}


@action("cvm", "DescribeInstanceTypeConfigs")
def describe_instance_type_configs(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.instances.type_configs(ctx.region, p.get("Filters"))
    return {"InstanceTypeConfigSet": [_type_config(zone, t) for zone, t in found]}


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


# --- type, charge type, project (services/instances/scale.py) ------------------------------------------
def _type_config(zone: str, t) -> dict:
    return {"Zone": zone, "InstanceType": t.instance_type, "InstanceFamily": t.family, "GPU": t.gpu, "CPU": t.cpu,
            "Memory": t.memory_gib, "FPGA": 0, "GpuCount": float(t.gpu), "GpuType": t.gpu_type,
            "GpuMemory": 16.0 if t.gpu else 0.0}


@action("cvm", "ResetInstancesType")
def reset_instances_type(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.reset_type(ctx.identity, ctx.region, ctx.request_id, p["InstanceIds"], p["InstanceType"],
                                      bool(p.get("ForceStop")))
    return {}


@action("cvm", "DescribeInstancesModification")
def describe_instances_modification(ctx: CallContext, p: dict) -> dict:
    found = ctx.services.instances.modification(ctx.identity, ctx.region, p["InstanceIds"], p.get("Filters"))
    items = [{"Status": o.status, "Message": o.message, "InstanceTypeConfig": _type_config(o.zone, o.itype)}
             for o in found]
    return {"TotalCount": len(items), "InstanceTypeConfigStatusSet": items}


@action("cvm", "DescribeInstanceFamilyConfigs")
def describe_instance_family_configs(ctx: CallContext, p: dict) -> dict:
    return {"InstanceFamilyConfigSet": [{"InstanceFamily": family, "InstanceFamilyName": name}
                                        for family, name in ctx.services.instances.family_configs(ctx.region)]}


@action("cvm", "ModifyInstancesChargeType")
def modify_instances_charge_type(ctx: CallContext, p: dict) -> dict:
    prepaid = p.get("InstanceChargePrepaid") or {}
    ctx.services.instances.modify_charge_type(ctx.identity, ctx.region, ctx.request_id, p["InstanceIds"],
                                              p["InstanceChargeType"], prepaid.get("Period"), prepaid.get("RenewFlag"),
                                              bool(p.get("ModifyPortableDataDisk")))
    return {}


@action("cvm", "ModifyInstancesProject")
def modify_instances_project(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.modify_project(ctx.identity, ctx.region, ctx.request_id, p["InstanceIds"], p["ProjectId"])
    return {}


@action("cvm", "ModifyInstanceDiskType")
def modify_instance_disk_type(ctx: CallContext, p: dict) -> dict:
    ctx.services.instances.modify_disk_type(ctx.identity, ctx.region, p["InstanceId"],
                                            (p.get("SystemDisk") or {}).get("DiskType"),
                                            [d["DiskType"] for d in p.get("DataDisks") or [] if d.get("DiskType")])
    return {}

"""Instances (PRODUCT.md R1–R4, R9): launch from an image, the life cycle, and its real states.

Every operation changes the state in one transaction together with the job
that carries it out (PENDING → RUNNING, STOPPING → STOPPED, …); the job
talks to the ComputeDriver and builds the disk files, so the API shows the
real intermediate states and a crash in the middle is resumed.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..hypervisor.driver import ComputeDriver, DiskSpec, VmAlreadyExists, VmNotFound, VmSpec
from ..jobs.queue import JobHandle, enqueue
from ..store.db import Database
from ..store.models import ClientToken, Disk, Instance, InstanceKeyPair
from ..store.repo import Repo, utcnow
from . import errors, instance_rules
from .query import check_filters
from .iam import Identity
from .ids import is_id, new_id
from .images import ImageService
from .instance_types import TYPES, offerings, sold_in
from .regions import RegionCatalogue
from ..imaging.volumes import GIB, Volumes

DISK_TYPES = {  # type -> (min GiB, max GiB) for data disks
    "CLOUD_BASIC": (10, 32000), "CLOUD_PREMIUM": (10, 32000), "CLOUD_SSD": (20, 32000),
    "CLOUD_HSSD": (20, 32000), "CLOUD_BSSD": (20, 32000), "CLOUD_TSSD": (20, 32000),
}
SYSTEM_DISK_MAX = 1024
MAX_DATA_DISKS = 20
FINAL_OK = "SUCCESS"
INSTANCE_FILTERS = {"zone", "project-id", "instance-id", "uuid", "security-group-id", "instance-name",
                    "instance-charge-type", "instance-state", "private-ip-address", "public-ip-address",
                    "tag-key", "tag-value", "creation-start-time", "creation-end-time", "image-id",
                    "instance-type", "host-id", "dedicated-cluster-id", "vpc-id", "subnet-id", "ipv6-address"}


@dataclass
class InstanceView:
    row: Instance
    disks: list[Disk]
    key_ids: list[str]
    tags: dict[str, str] = field(default_factory=dict)


class InstanceService:
    def __init__(self, db: Database, regions: RegionCatalogue, images: ImageService, volumes: Volumes,
                 driver: ComputeDriver, notify=None):
        self.db = db
        self.regions = regions
        self.images = images
        self.volumes = volumes
        self.driver = driver
        self.notify = notify or (lambda: None)

    # --- lookups ---------------------------------------------------------------------------
    def own(self, repo: Repo, identity: Identity, region: str, instance_id: str, *, lock: bool = False) -> Instance:
        if not is_id("ins", instance_id):
            raise errors.InvalidInstanceIdMalformed(f"The instance ID `{instance_id}` is malformed (expected ins-xxxxxxxx).")
        row = repo.get_instance(instance_id, for_update=lock)
        if row is None or row.owner_uin != identity.uin or row.region != region:
            raise errors.InvalidInstanceIdNotFound(f"The instance `{instance_id}` does not exist in {region}.")
        return row

    def own_many(self, repo: Repo, identity: Identity, region: str, ids: list[str]) -> list[Instance]:
        if len(ids) > 100:
            raise errors.InvalidParameterValueLimitExceeded("At most 100 InstanceIds per call.")
        return [self.own(repo, identity, region, i, lock=True) for i in dict.fromkeys(ids)]

    # --- RunInstances ----------------------------------------------------------------------
    def run(self, identity: Identity, region: str, request_id: str, p: dict) -> list[str]:
        r = self.regions.get(region)
        token = p.get("ClientToken")
        if token is not None and len(token) > 64:
            raise errors.InvalidClientTokenTooLong("ClientToken must be at most 64 characters.")
        if token:
            with self.db.read() as repo:
                seen = repo.get_client_token(identity.uin, region, "RunInstances", token)
            if seen is not None:
                return json.loads(seen.result)
        placement = p.get("Placement") or {}
        zone = placement.get("Zone")
        if not zone:
            raise errors.MissingParameter("The request is missing the required parameter `Placement.Zone`.")
        if zone not in {z.zone for z in r.zones}:
            raise errors.InvalidZoneMismatchRegion(f"The zone `{zone}` does not belong to the region {region}.")
        type_name = p.get("InstanceType") or "S5.SMALL1"
        if not re.fullmatch(r"[A-Z0-9]+\.[A-Z0-9]+", type_name):
            raise errors.InvalidInstanceTypeMalformed(f"The instance type `{type_name}` is malformed (e.g. S5.MEDIUM4).")
        itype = TYPES.get(type_name)
        if itype is None:
            raise errors.InvalidParameterValueInstanceTypeNotFound(f"The instance type `{type_name}` does not exist.")
        if not sold_in(itype, zone, r.mainland):
            raise errors.ResourceInsufficientZoneSoldOutForSpecifiedInstance(
                f"The instance type `{type_name}` is not sold in {zone}; DescribeZoneInstanceConfigInfos lists what is."
            )
        if not p.get("ImageId"):
            raise errors.MissingParameter("The request is missing the required parameter `ImageId`.")
        image = self.images.get_visible(identity, region, p["ImageId"])
        if image.state != "NORMAL":
            raise errors.InvalidImageIdIncorrectState(f"The image `{image.image_id}` is {image.state}, not NORMAL.")
        if (image.architecture == "arm") != (itype.arch == "arm"):
            raise errors.InvalidParameterValueInvalidImageForGivenInstanceType(
                f"The image `{image.image_id}` is for {image.architecture}; `{type_name}` runs {itype.arch}."
            )
        count = p.get("InstanceCount", 1)
        if not 1 <= count <= 100:
            raise errors.InvalidParameterValueRange(f"InstanceCount must be between 1 and 100, got {count}.")
        charge = p.get("InstanceChargeType") or "POSTPAID_BY_HOUR"
        if charge not in ("POSTPAID_BY_HOUR", "PREPAID", "SPOTPAID", "CDHPAID"):
            raise errors.InvalidParameterValue(f"InstanceChargeType `{charge}` is not valid.")
        expires = None
        if charge == "PREPAID":
            period = (p.get("InstanceChargePrepaid") or {}).get("Period")
            if period not in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 24, 36, 48, 60):
                raise errors.InvalidPeriod(f"InstanceChargePrepaid.Period must be 1-12, 24, 36, 48 or 60 months, got {period}.")
            expires = utcnow() + timedelta(days=30 * period)
        system = p.get("SystemDisk") or {}
        sys_type = system.get("DiskType") or "CLOUD_BSSD"
        if sys_type not in DISK_TYPES:
            raise errors.InvalidParameterValue(f"SystemDisk.DiskType `{sys_type}` is not valid.")
        sys_size = system.get("DiskSize") or max(50, image.size_gib)
        if sys_size < image.size_gib:
            raise errors.InvalidParameterValueRange(
                f"SystemDisk.DiskSize {sys_size} GB is smaller than the image `{image.image_id}` ({image.size_gib} GB)."
            )
        if not 20 <= sys_size <= SYSTEM_DISK_MAX:
            raise errors.InvalidParameterValueRange(f"SystemDisk.DiskSize must be 20 to {SYSTEM_DISK_MAX} GB, got {sys_size}.")
        data_disks = p.get("DataDisks") or []
        # A whole-machine custom image brings its data disks: each becomes a new data disk, before DataDisks.
        image_data = [(i, s) for i, s in enumerate(image.snapshots) if s.get("DiskUsage") == "DATA_DISK"]
        if len(data_disks) + len(image_data) > MAX_DATA_DISKS:
            raise errors.InvalidParameterValueLimitExceeded(
                f"At most {MAX_DATA_DISKS} data disks, got {len(data_disks)} DataDisks"
                + (f" and {len(image_data)} from the image." if image_data else ".")
            )
        with self.db.read() as repo:
            for i, d in enumerate(data_disks):
                _check_data_disk(d, f"DataDisks.{i}")
                if d.get("SnapshotId"):
                    snap = repo.get_snapshot(d["SnapshotId"])
                    if snap is None or snap.owner_uin != identity.uin or snap.region != region or snap.state != "NORMAL":
                        raise errors.InvalidSnapshotIdNotFound(f"The snapshot `{d['SnapshotId']}` does not exist in {region}.")
        login = p.get("LoginSettings") or {}
        key_ids = login.get("KeyIds") or []
        if key_ids and image.os_type == "Windows":
            raise errors.InvalidParameterValueKeyPairNotSupported(
                f"The image `{image.image_id}` is a Windows image; Windows instances log in with a password, not key pairs."
            )
        if login.get("Password"):
            instance_rules.check_password(login["Password"], image.os_type)
        keep = str(login.get("KeepImageLogin") or "FALSE").upper()
        if keep not in ("TRUE", "FALSE"):
            raise errors.InvalidParameterValue("LoginSettings.KeepImageLogin must be TRUE or FALSE.")
        if keep == "TRUE" and image.image_type == "PUBLIC_IMAGE":
            raise errors.InvalidParameterValue("KeepImageLogin can only be used with custom, shared or marketplace images.")
        names = instance_rules.instance_names(p.get("InstanceName"), count)
        hostname = p.get("HostName") or ""
        if hostname:
            instance_rules.check_hostname(hostname, image.os_type, action="RunInstances", count=count)
        if p.get("UserData"):
            instance_rules.check_user_data(p["UserData"])
        sg_ids = p.get("SecurityGroupIds") or []
        for sg in sg_ids:
            if not is_id("sg", sg):
                raise errors.InvalidParameterValue(f"The security group ID `{sg}` is malformed (expected sg-xxxxxxxx).")
        from .tags import tags_for

        tags = tags_for(p.get("TagSpecification"), "instance")
        internet = p.get("InternetAccessible") or {}
        ids: list[str] = []
        with self.db.write() as repo:
            for key_id in key_ids:
                key = repo.get_key_pair(key_id) if is_id("skey", key_id) else None
                if key is None or key.owner_uin != identity.uin:
                    raise errors.InvalidKeyPairIdNotFound(f"The key pair `{key_id}` does not exist.")
            if token:
                repo.lock(f"client-token:{identity.uin}:{region}:{token}")
                seen = repo.get_client_token(identity.uin, region, "RunInstances", token)
                if seen is not None:
                    return json.loads(seen.result)
            if p.get("DryRun"):
                raise errors.DryRunOperation("The request would have succeeded; DryRun is set, so nothing was launched.")
            now = utcnow()
            new_ids = [new_id("ins") for _ in names]
            hostnames = (
                instance_rules.instance_hostnames(hostname, count, image.os_type, [_private_ip(i) for i in new_ids])
                if hostname else [_default_hostname(i) for i in new_ids]
            )
            for name, instance_id, host in zip(names, new_ids, hostnames):
                ids.append(instance_id)
                repo.add(Instance(
                    instance_id=instance_id, owner_uin=identity.uin, region=region, zone=zone,
                    project_id=int(placement.get("ProjectId") or 0), instance_type=type_name, cpu=itype.cpu,
                    memory_gib=itype.memory_gib, name=name, hostname=host,
                    image_id=image.image_id, os_name=image.os_name, os_type=image.os_type,
                    license_type=image.license_type, charge_type=charge, renew_flag="NOTIFY_AND_MANUAL_RENEW" if expires else "",
                    expired_at=expires, state="PENDING", latest_operation="RunInstances",
                    latest_operation_state="OPERATING", latest_operation_request_id=request_id,
                    latest_operation_error="", private_ip=_private_ip(instance_id),
                    public_ip=_public_ip(instance_id) if internet.get("PublicIpAssigned") or internet.get("InternetMaxBandwidthOut") else "",
                    internet=json.dumps(internet), security_group_ids=json.dumps(sg_ids), keep_image_login=keep == "TRUE",
                    password_set=bool(login.get("Password")), user_data=p.get("UserData") or "",
                    uuid=str(uuidlib.uuid4()), disable_api_termination=bool(p.get("DisableApiTermination")),
                    stopped_mode="", created_at=now,
                ))
                repo.add(Disk(
                    disk_id=new_id("disk"), owner_uin=identity.uin, region=region, zone=zone, usage="SYSTEM_DISK",
                    disk_type=sys_type, size_gib=sys_size, name=f"{name}_system", state="ATTACHED",
                    instance_id=instance_id, position=0, delete_with_instance=True, charge_type=charge,
                    base_kind="image", base_id=image.image_id, base_index=0, created_at=now,
                ))
                for pos, (index, snap) in enumerate(image_data, start=1):
                    repo.add(Disk(
                        disk_id=new_id("disk"), owner_uin=identity.uin, region=region, zone=zone, usage="DATA_DISK",
                        disk_type="CLOUD_PREMIUM", size_gib=snap["DiskSize"], name=f"{name}_data{pos}", state="ATTACHED",
                        instance_id=instance_id, position=pos, delete_with_instance=True, charge_type=charge,
                        base_kind="image", base_id=image.image_id, base_index=index, created_at=now,
                    ))
                for i, d in enumerate(data_disks, start=len(image_data) + 1):
                    repo.add(Disk(
                        disk_id=new_id("disk"), owner_uin=identity.uin, region=region, zone=zone, usage="DATA_DISK",
                        disk_type=d.get("DiskType") or "CLOUD_PREMIUM", size_gib=d["DiskSize"],
                        name=d.get("DiskName") or f"{name}_data{i}", state="ATTACHED", instance_id=instance_id,
                        position=i, delete_with_instance=d.get("DeleteWithInstance", True), charge_type=charge,
                        base_kind="snapshot" if d.get("SnapshotId") else "", base_id=d.get("SnapshotId") or "",
                        base_index=0, created_at=now,
                    ))
                for key_id in key_ids:
                    repo.add(InstanceKeyPair(instance_id=instance_id, key_id=key_id))
                if tags:
                    repo.set_tags(instance_id, tags)
                enqueue(repo, "instance_launch", instance_id, {"region": region}, owner_uin=identity.uin)
            if token:
                repo.add(ClientToken(owner_uin=identity.uin, region=region, action="RunInstances", token=token,
                                     result=json.dumps(ids), created_at=now))
        self.notify()
        return ids

    # --- DescribeInstances / DescribeInstancesStatus ----------------------------------------------
    def describe(self, identity: Identity, region: str, *, ids: list[str] | None, filters: list[dict] | None,
                 offset: int, limit: int) -> tuple[int, list[InstanceView]]:
        self.regions.get(region)
        if ids and filters:
            raise errors.InvalidParameter("InstanceIds and Filters cannot be given together.")
        if limit > 100:
            raise errors.InvalidParameterValueRange(f"Limit must be between 0 and 100, got {limit}.")
        for i in ids or []:
            if not is_id("ins", i):
                raise errors.InvalidInstanceIdMalformed(f"The instance ID `{i}` is malformed (expected ins-xxxxxxxx).")
        checked = check_filters(filters or [], INSTANCE_FILTERS, "DescribeInstances")
        with self.db.read() as repo:
            rows = repo.instances_of(identity.uin, region, ids)
            tags = repo.tags_of([r.instance_id for r in rows])
            # filters need only the row and its tags; disks and keys are loaded for the page alone
            views = [InstanceView(r, [], [], tags[r.instance_id]) for r in rows]
            for name, values in checked:
                views = [v for v in views if _instance_matches(v, name, values)]
            page = views[offset: offset + limit]
            page_ids = [v.row.instance_id for v in page]
            disks = repo.disks_of_instances(page_ids)
            keys = repo.key_ids_of_instances(page_ids)
            for v in page:
                v.disks, v.key_ids = disks.get(v.row.instance_id, []), keys.get(v.row.instance_id, [])
        return len(views), page

    # --- power operations ----------------------------------------------------------------------------
    def _transition(self, identity, region, request_id, ids, *, action, allowed, interim, job, payload=None,
                    check=None):
        with self.db.write() as repo:
            rows = self.own_many(repo, identity, region, ids)
            for row in rows:
                if row.state not in allowed:
                    raise errors.instance_state_error(row.state, row.instance_id, action)
                if row.latest_operation_state == "OPERATING":
                    raise errors.OperationDeniedInstanceOperationInProgress(
                        f"The instance `{row.instance_id}` is busy with {row.latest_operation}; retry when it has finished."
                    )
                if check:
                    check(repo, row)
            for row in rows:
                row.state = interim
                row.latest_operation, row.latest_operation_state = action, "OPERATING"
                row.latest_operation_request_id, row.latest_operation_error = request_id, ""
                enqueue(repo, job, row.instance_id, {"region": region, "action": action, **(payload or {})},
                        owner_uin=identity.uin)
        self.notify()

    def start(self, identity, region, request_id, ids):
        self._transition(identity, region, request_id, ids, action="StartInstances", allowed={"STOPPED"},
                         interim="STARTING", job="instance_power", payload={"to": "RUNNING"})

    def stop(self, identity, region, request_id, ids, p: dict):
        stop_type = p.get("StopType") or ("HARD" if p.get("ForceStop") else "SOFT")
        if stop_type not in ("SOFT", "HARD", "SOFT_FIRST"):
            raise errors.InvalidParameterValue(f"StopType must be SOFT, HARD or SOFT_FIRST, got `{stop_type}`.")
        mode = p.get("StoppedMode") or "KEEP_CHARGING"
        if mode not in ("KEEP_CHARGING", "STOP_CHARGING"):
            raise errors.InvalidParameterValue(f"StoppedMode must be KEEP_CHARGING or STOP_CHARGING, got `{mode}`.")

        def check(repo, row):
            if mode == "STOP_CHARGING" and row.charge_type != "POSTPAID_BY_HOUR":
                raise errors.UnsupportedOperation(
                    f"StoppedMode STOP_CHARGING is only for pay-as-you-go instances; `{row.instance_id}` is {row.charge_type}."
                )

        self._transition(identity, region, request_id, ids, action="StopInstances", allowed={"RUNNING"},
                         interim="STOPPING", job="instance_power",
                         payload={"to": "STOPPED", "hard": stop_type == "HARD", "mode": mode}, check=check)

    def reboot(self, identity, region, request_id, ids, p: dict):
        stop_type = p.get("StopType") or ("HARD" if p.get("ForceReboot") else "SOFT")
        if stop_type not in ("SOFT", "HARD", "SOFT_FIRST"):
            raise errors.InvalidParameterValue(f"StopType must be SOFT, HARD or SOFT_FIRST, got `{stop_type}`.")
        self._transition(identity, region, request_id, ids, action="RebootInstances", allowed={"RUNNING"},
                         interim="REBOOTING", job="instance_power", payload={"to": "RUNNING", "reboot": True,
                                                                              "hard": stop_type == "HARD"})

    def terminate(self, identity, region, request_id, ids):
        def check(repo, row):
            if row.disable_api_termination:
                raise errors.UnsupportedOperationInstancesProtected(
                    f"The instance `{row.instance_id}` has DisableApiTermination set; clear it with ModifyInstancesAttribute first."
                )

        self._transition(identity, region, request_id, ids, action="TerminateInstances",
                         allowed={"RUNNING", "STOPPED", "LAUNCH_FAILED", "SHUTDOWN"}, interim="TERMINATING",
                         job="instance_terminate", check=check)

    # --- ResetInstance / ResizeInstanceDisks / attributes / password -----------------------------------
    def reset(self, identity, region, request_id, p: dict):
        with self.db.read() as repo:
            row = self.own(repo, identity, region, p["InstanceId"])
            current_image = row.image_id
            system = repo.disks_of_instance(row.instance_id)[0]
        image = self.images.get_visible(identity, region, p.get("ImageId") or current_image)
        if image.state != "NORMAL":
            raise errors.InvalidImageIdIncorrectState(f"The image `{image.image_id}` is {image.state}, not NORMAL.")
        size = (p.get("SystemDisk") or {}).get("DiskSize") or max(system.size_gib, image.size_gib)
        if size < image.size_gib or size < system.size_gib:
            raise errors.InvalidParameterValueRange(
                f"SystemDisk.DiskSize {size} GB must be at least the image's {image.size_gib} GB and the current {system.size_gib} GB."
            )
        login = p.get("LoginSettings") or {}
        if login.get("KeyIds") and image.os_type == "Windows":
            raise errors.InvalidParameterValueKeyPairNotSupported("Windows images do not support key pairs.")
        if login.get("Password"):
            instance_rules.check_password(login["Password"], image.os_type, action="ResetInstance")
        if p.get("HostName"):
            instance_rules.check_hostname(p["HostName"], image.os_type, action="ResetInstance")
        if p.get("UserData"):
            instance_rules.check_user_data(p["UserData"])

        def check(repo, row):
            itype = TYPES[row.instance_type]
            if (image.architecture == "arm") != (itype.arch == "arm"):
                raise errors.InvalidParameterValueInvalidImageForGivenInstanceType(
                    f"The image `{image.image_id}` is for {image.architecture}; `{row.instance_type}` runs {itype.arch}."
                )
            for key_id in login.get("KeyIds") or []:
                key = repo.get_key_pair(key_id) if is_id("skey", key_id) else None
                if key is None or key.owner_uin != identity.uin:
                    raise errors.InvalidKeyPairIdNotFound(f"The key pair `{key_id}` does not exist.")

        self._transition(identity, region, request_id, [p["InstanceId"]], action="ResetInstance",
                         allowed={"RUNNING", "STOPPED"}, interim="PENDING", job="instance_reset",
                         payload={"image_id": image.image_id, "size": size, "key_ids": login.get("KeyIds") or [],
                                  "password": bool(login.get("Password")), "hostname": p.get("HostName") or "",
                                  "os_name": image.os_name, "os_type": image.os_type,
                                  "user_data": p.get("UserData") or ""},
                         check=check)

    def resize_disks(self, identity, region, request_id, p: dict):
        wanted: dict[str, int] = {}
        with self.db.write() as repo:
            row = self.own(repo, identity, region, p["InstanceId"], lock=True)
            disks = {d.disk_id: d for d in repo.disks_of_instance(row.instance_id)}
            if row.state not in ("RUNNING", "STOPPED"):
                raise errors.instance_state_error(row.state, row.instance_id, "ResizeInstanceDisks")
            if row.state == "RUNNING" and not (p.get("ForceStop") or p.get("ResizeOnline")):
                raise errors.instance_state_error(row.state, row.instance_id, "ResizeInstanceDisks without ForceStop")
            if p.get("SystemDisk"):
                system = next(d for d in disks.values() if d.position == 0)
                wanted[system.disk_id] = p["SystemDisk"].get("DiskSize") or system.size_gib
            for i, d in enumerate(p.get("DataDisks") or []):
                disk_id = d.get("DiskId")
                if not disk_id or disk_id not in disks or disks[disk_id].position == 0:
                    raise errors.InvalidParameterDataDiskNotBelongSpecifiedInstance(
                        f"DataDisks.{i}.DiskId `{disk_id}` is not a data disk of `{row.instance_id}`."
                    )
                wanted[disk_id] = d["DiskSize"]
            if not wanted:
                raise errors.MissingParameter("Give SystemDisk or DataDisks with the new sizes.")
            for disk_id, size in wanted.items():
                disk = disks[disk_id]
                if size < disk.size_gib:
                    raise errors.InvalidParameterValueRange(
                        f"Disk `{disk_id}` is {disk.size_gib} GB; disks can only grow (asked for {size} GB)."
                    )
                limit = SYSTEM_DISK_MAX if disk.position == 0 else DISK_TYPES.get(disk.disk_type, (10, 32000))[1]
                if size > limit:
                    raise errors.InvalidParameterValueRange(f"Disk `{disk_id}` can grow to at most {limit} GB.")
            row.latest_operation, row.latest_operation_state = "ResizeInstanceDisks", "OPERATING"
            row.latest_operation_request_id = request_id
            for disk_id in wanted:
                disks[disk_id].state = "EXPANDING"
            enqueue(repo, "instance_resize", row.instance_id, {"region": region, "sizes": wanted}, owner_uin=identity.uin)
        self.notify()

    def modify_attribute(self, identity, region, p: dict):
        ids = p["InstanceIds"]
        if "InstanceName" in p:
            instance_rules.check_instance_name(p["InstanceName"], action="ModifyInstancesAttribute")
        if p.get("UserData"):
            instance_rules.check_user_data(p["UserData"])
        with self.db.write() as repo:
            rows = self.own_many(repo, identity, region, ids)
            for row in rows:
                if "HostName" in p:
                    instance_rules.check_hostname(p["HostName"], row.os_type, action="ModifyInstancesAttribute")
            for row in rows:
                if "InstanceName" in p:
                    row.name = p["InstanceName"]
                if "HostName" in p:
                    row.hostname = p["HostName"]
                if "DisableApiTermination" in p:
                    row.disable_api_termination = bool(p["DisableApiTermination"])
                if "SecurityGroups" in p:
                    for sg in p["SecurityGroups"]:
                        if not is_id("sg", sg):
                            raise errors.InvalidParameterValue(f"The security group ID `{sg}` is malformed.")
                    row.security_group_ids = json.dumps(p["SecurityGroups"])
                if "UserData" in p:
                    row.user_data = p["UserData"]

    def reset_password(self, identity, region, request_id, p: dict):
        with self.db.write() as repo:
            rows = self.own_many(repo, identity, region, p["InstanceIds"])
            for row in rows:
                instance_rules.check_password(
                    p["Password"], row.os_type, action="ResetInstancesPassword", username=p.get("UserName") or None
                )
                if row.state not in ("RUNNING", "STOPPED"):
                    raise errors.instance_state_error(row.state, row.instance_id, "ResetInstancesPassword")
                if row.state == "RUNNING" and not p.get("ForceStop"):
                    raise errors.instance_state_error(
                        row.state, row.instance_id, "ResetInstancesPassword without ForceStop (stop it first)"
                    )
            for row in rows:
                row.password_set = True
                row.latest_operation, row.latest_operation_state = "ResetInstancesPassword", FINAL_OK
                row.latest_operation_request_id = request_id

    # --- instance types ------------------------------------------------------------------------------
    def type_configs(self, region: str, filters: list[dict] | None):
        checked = check_filters(filters or [], {"zone", "instance-family", "instance-type"}, "DescribeInstanceTypeConfigs")
        out = []
        for zone, t in offerings(self.regions, region):
            fields = {"zone": zone, "instance-family": t.family, "instance-type": t.instance_type}
            if all(fields[n] in values for n, values in checked):
                out.append((zone, t))
        return out

    def zone_configs(self, region: str, filters: list[dict] | None):
        checked = check_filters(filters or [], {"zone", "instance-family", "instance-type", "instance-charge-type", "sort-keys"},
                                "DescribeZoneInstanceConfigInfos")
        out = []
        for zone, t in offerings(self.regions, region):
            for charge in ("POSTPAID_BY_HOUR", "PREPAID"):
                fields = {"zone": zone, "instance-family": t.family, "instance-type": t.instance_type,
                          "instance-charge-type": charge}
                if all(n == "sort-keys" or fields[n] in values for n, values in checked):
                    out.append((zone, t, charge))
        return out

    # --- jobs ----------------------------------------------------------------------------------------
    def _vm_spec(self, repo: Repo, row: Instance) -> VmSpec:
        disks = repo.disks_of_instance(row.instance_id)
        key_ids = repo.key_ids_of(row.instance_id)
        return VmSpec(
            instance_id=row.instance_id, cpu=row.cpu, memory_mib=row.memory_gib * 1024,
            disks=[DiskSpec(path=self.volumes.disk_path(row.region, d.disk_id), fmt="qcow2", size_bytes=d.size_gib * GIB,
                            role="system" if d.position == 0 else "data", device=device_name(d.position)) for d in disks],
            user_data=base64.b64decode(row.user_data) if row.user_data else None, ssh_port=None,
            hostname=row.hostname or None,
            ssh_keys=[k.public_key for k in repo.key_pairs_of(row.owner_uin, key_ids)] if key_ids else [],
        )

    def os_facts(self, repo: Repo, row: Instance) -> dict:
        """What the new image says about its OS: from the image the instance runs, else from the instance."""
        facts = {"os_name": row.os_name, "os_type": row.os_type, "license_type": row.license_type,
                 "platform": "Windows" if row.os_type == "Windows" else "Other", "architecture": "x86_64",
                 "cloudinit": row.os_type != "Windows", "boot_mode": "Legacy BIOS", "image_id": row.image_id}
        view = self.images.catalogue.get(row.image_id)
        src = repo.get_image(row.image_id) if view is None else None
        for obj in (view, src):
            if obj is not None:
                facts.update(platform=obj.platform, architecture=obj.architecture, cloudinit=bool(obj.cloudinit),
                             boot_mode=obj.boot_mode)
        return facts

    def base_manifest(self, repo: Repo, disk: Disk):
        """The chunk manifest of the disk's backing file, or None (blank disk, or its source is gone)."""
        from ..blobs.chunks import Manifest

        if disk.base_kind == "image":
            try:
                return self.images.disk_manifest(disk.region, disk.base_id, disk.base_index)
            except errors.ApiError:
                return None
        if disk.base_kind == "snapshot":
            snap = repo.get_snapshot(disk.base_id)
            if snap is not None and snap.manifest is not None:
                return Manifest.from_json(snap.manifest)
        return None

    def base_for(self, repo: Repo, disk: Disk):
        if not disk.base_kind:
            return None
        manifest = self.base_manifest(repo, disk)
        if manifest is None:
            if disk.base_kind == "snapshot":
                raise errors.InvalidSnapshotIdNotFound(f"The snapshot `{disk.base_id}` is gone.")
            raise errors.InvalidImageIdIncorrectState(f"The image `{disk.base_id}` has no stored disk {disk.base_index}.")
        name = f"{disk.base_id}-{disk.base_index}" if disk.base_kind == "image" else disk.base_id
        return self.volumes.ensure_base(disk.region, name, manifest)

    def run_launch(self, handle: JobHandle) -> None:
        instance_id = handle.view.resource_id
        with self.db.read() as repo:
            row = repo.get_instance(instance_id)
            if row is None:
                handle.finish(False, "instance gone")
                return
            for disk in repo.disks_of_instance(instance_id):
                if not self.volumes.disk_path(row.region, disk.disk_id).exists():
                    self.volumes.create_disk(row.region, disk.disk_id, disk.size_gib, self.base_for(repo, disk))
            spec = self._vm_spec(repo, row)
        handle.progress(60, {"disks": True})
        try:
            self.driver.spawn(spec)
        except VmAlreadyExists:
            pass  # a resumed launch: the VM was defined before the crash
        self._finish_op(handle, "RUNNING")

    def _finish_op(self, handle: JobHandle, state: str, extra=None) -> None:
        def apply(repo: Repo):
            row = repo.get_instance(handle.view.resource_id)
            if row is None:
                return
            row.state = state
            row.latest_operation_state = FINAL_OK
            if extra:
                extra(repo, row)

        handle.finish(True, "", apply)

    def run_power(self, handle: JobHandle) -> None:
        p = handle.payload
        instance_id = handle.view.resource_id
        if p.get("reboot"):
            self.driver.reboot(instance_id, hard=bool(p.get("hard")))
        elif p["to"] == "RUNNING":
            self.driver.power_on(instance_id)
        else:
            self.driver.power_off(instance_id, hard=bool(p.get("hard")))

        def extra(repo, row):
            row.stopped_mode = p.get("mode", "") if p["to"] == "STOPPED" else ""

        self._finish_op(handle, p["to"], extra)

    def run_terminate(self, handle: JobHandle) -> None:
        instance_id = handle.view.resource_id
        try:
            self.driver.destroy(instance_id)
        except VmNotFound:
            pass
        with self.db.read() as repo:
            row = repo.get_instance(instance_id)
            disks = repo.disks_of_instance(instance_id) if row else []
        for disk in disks:
            if disk.delete_with_instance:
                self.volumes.delete_disk(disk.region, disk.disk_id)

        orphaned_bases = []

        def apply(repo: Repo):
            for disk in repo.disks_of_instance(instance_id):
                if disk.delete_with_instance:
                    repo.delete_disk(disk.disk_id)
                else:
                    disk.instance_id, disk.state = None, "UNATTACHED"
            repo.delete_instance(instance_id)
            for disk in disks:  # a deleted custom image's base goes with its last disk
                if disk.base_kind == "image" and repo.get_image(disk.base_id) is None \
                        and disk.base_id not in self.images.catalogue and not repo.disks_using_base("image", disk.base_id):
                    orphaned_bases.append((disk.region, f"{disk.base_id}-{disk.base_index}"))

        handle.finish(True, "", apply)
        for region, name in orphaned_bases:
            self.volumes.drop_base(region, name)

    def run_reset(self, handle: JobHandle) -> None:
        p = handle.payload
        instance_id = handle.view.resource_id
        with self.db.read() as repo:
            row = repo.get_instance(instance_id)
            was_running = handle.checkpoint.get("was_running", self.driver.info(instance_id).power_state == "running")
            system = repo.disks_of_instance(instance_id)[0]
        handle.progress(10, {"was_running": was_running})
        if was_running:
            self.driver.power_off(instance_id, hard=True)
        manifest = self.images.disk_manifest(row.region, p["image_id"], 0)
        base = self.volumes.ensure_base(row.region, f"{p['image_id']}-0", manifest)
        self.volumes.create_disk(row.region, system.disk_id, p["size"], base)
        if was_running:
            self.driver.power_on(instance_id)

        def extra(repo: Repo, inst: Instance):
            disk = repo.disks_of_instance(instance_id)[0]
            disk.size_gib, disk.base_kind, disk.base_id, disk.base_index = p["size"], "image", p["image_id"], 0
            inst.image_id, inst.os_name, inst.os_type = p["image_id"], p["os_name"], p["os_type"]
            if p.get("hostname"):
                inst.hostname = p["hostname"]
            if p.get("user_data"):
                inst.user_data = p["user_data"]
            if p.get("password"):
                inst.password_set = True
            if p.get("key_ids"):
                repo.set_instance_keys(instance_id, p["key_ids"])

        self._finish_op(handle, "RUNNING" if was_running else "STOPPED", extra)

    def run_resize(self, handle: JobHandle) -> None:
        p = handle.payload
        instance_id = handle.view.resource_id
        for disk_id, size in p["sizes"].items():
            self.volumes.resize_disk(p["region"], disk_id, size)

        def apply(repo: Repo):
            row = repo.get_instance(instance_id)
            for disk in repo.disks_of_instance(instance_id):
                if disk.disk_id in p["sizes"]:
                    disk.size_gib, disk.state = p["sizes"][disk.disk_id], "ATTACHED"
            if row is not None:
                row.latest_operation_state = FINAL_OK

        handle.finish(True, "", apply)

    def fail_job(self, handle: JobHandle, exc: BaseException) -> None:
        message = exc.message if isinstance(exc, errors.ApiError) else f"{type(exc).__name__}: {exc}"
        instance_id = handle.view.resource_id
        launch = handle.view.kind == "instance_launch"
        if launch:
            try:
                self.driver.destroy(instance_id)
            except Exception:
                pass
            with self.db.read() as repo:
                disks = repo.disks_of_instance(instance_id)
            for disk in disks:
                self.volumes.delete_disk(disk.region, disk.disk_id)

        def apply(repo: Repo):
            row = repo.get_instance(instance_id)
            if row is None:
                return
            row.latest_operation_state = "FAILED"
            row.latest_operation_error = message[:512]
            if launch:
                row.state = "LAUNCH_FAILED"
                for disk in repo.disks_of_instance(instance_id):
                    repo.delete_disk(disk.disk_id)
            else:
                try:
                    info = self.driver.info(instance_id)
                    row.state = "RUNNING" if info.power_state == "running" else "STOPPED"
                except Exception:
                    row.state = "STOPPED"
            for disk in repo.disks_of_instance(instance_id):
                if disk.state == "EXPANDING":
                    disk.state = "ATTACHED"

        handle.finish(False, message, apply)


# --- helpers -------------------------------------------------------------------------------------------
def device_name(position: int) -> str:
    return "vd" + "abcdefghijklmnopqrstuvwxyz"[position]


def _default_hostname(instance_id: str) -> str:
    return "VM-" + instance_id.split("-", 1)[1]


def _private_ip(instance_id: str) -> str:
    n = int.from_bytes(instance_id.encode()[-4:], "big") % (254 * 254)
    return str(ipaddress.IPv4Address("10.0.0.0") + 256 + n)


def _public_ip(instance_id: str) -> str:
    n = int.from_bytes(instance_id.encode()[-4:], "big") % (254 * 254)
    return str(ipaddress.IPv4Address("203.0.113.0") + n % 254)  # TEST-NET-3: never routable


def _check_data_disk(d: dict, where: str) -> None:
    dtype = d.get("DiskType") or "CLOUD_PREMIUM"
    if dtype not in DISK_TYPES:
        raise errors.InvalidParameterValue(f"{where}.DiskType `{dtype}` is not valid ({', '.join(DISK_TYPES)}).")
    lo, hi = DISK_TYPES[dtype]
    if not lo <= d["DiskSize"] <= hi:
        raise errors.InvalidParameterValueRange(f"{where}.DiskSize must be {lo} to {hi} GB for {dtype}, got {d['DiskSize']}.")
    if d.get("Encrypt") or d.get("KmsKeyId"):
        raise errors.UnsupportedOperation(f"{where}: encrypted disks are not supported.")


def _parse_time(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        try:
            return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise errors.InvalidParameterValue(f"`{value}` is not a time like 2024-01-01T00:00:00Z.") from None


def _instance_matches(v: InstanceView, name: str, values: list[str]) -> bool:
    r = v.row
    simple = {
        "zone": r.zone, "instance-id": r.instance_id, "uuid": r.uuid, "instance-charge-type": r.charge_type,
        "instance-state": r.state, "private-ip-address": r.private_ip, "public-ip-address": r.public_ip,
        "image-id": r.image_id, "instance-type": r.instance_type, "project-id": str(r.project_id),
    }
    if name in simple:
        return simple[name] in values
    if name == "instance-name":
        return any(x in r.name for x in values)
    if name == "security-group-id":
        return any(sg in values for sg in json.loads(r.security_group_ids))
    if name == "tag-key":
        return any(k in values for k in v.tags)
    if name == "tag-value":
        return any(x in values for x in v.tags.values())
    if name.startswith("tag:"):
        return v.tags.get(name[4:]) in values
    if name == "creation-start-time":
        return r.created_at >= _parse_time(values[0])
    if name == "creation-end-time":
        return r.created_at <= _parse_time(values[0])
    return False  # host-id, dedicated-cluster-id, vpc-id, subnet-id, ipv6-address: none here



"""RunInstances: the request is checked into a ``RunPlan`` (no writes), then written in one
transaction with one launch job per instance; the job builds the disks and spawns the VM."""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from ...hypervisor.driver import VmAlreadyExists
from ...jobs.queue import JobHandle, enqueue
from ...store.models import ClientToken, Disk, Instance, InstanceKeyPair
from ...store.repo import Repo, utcnow
from ...store.repo_compute import PublicIpExhausted, PublicIps
from .. import errors
from ..iam import Identity
from ..ids import new_id
from ..images import ImageView
from ..network.addresses import SubnetChoice
from ..images.lifecycle import check_launchable
from . import lifecycle, rules
from .requests import RunRequest
from .types import TYPES, InstanceType, sold_in

CHARGE_TYPES = ("POSTPAID_BY_HOUR", "PREPAID", "SPOTPAID", "CDHPAID")
MAX_COUNT = 500  # InstanceCount: [1, 500] for every charge type, as the API documents
PREPAID_PERIODS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 24, 36, 48, 60)


@dataclass(frozen=True)
class DiskPlan:
    """One disk a new instance gets: the system disk (position 0) or a data disk."""

    usage: str
    disk_type: str
    size_gib: int
    name_suffix: str  # the disk's name is "<instance name><suffix>" unless ``name`` is set
    position: int
    delete_with_instance: bool = True
    base_kind: str = ""
    base_id: str = ""
    base_index: int = 0
    name: str | None = None


@dataclass(frozen=True)
class RunPlan:
    """A checked RunInstances request: everything the write needs, nothing left to validate."""

    zone: str
    itype: InstanceType
    image: ImageView
    charge: str
    expires: datetime | None
    disks: tuple[DiskPlan, ...]
    names: tuple[str, ...]
    keep_image_login: bool
    subnet: SubnetChoice | None = None
    security_group_ids: tuple[str, ...] = ()


class LaunchOps:
    """RunInstances and its launch job (a part of ``InstanceService``)."""

    def run(self, identity: Identity, region: str, request_id: str, req: RunRequest) -> list[str]:
        token = req.client_token
        if token is not None and len(token) > 64:
            raise errors.InvalidClientTokenTooLong("ClientToken must be at most 64 characters.")
        if token:
            with self.db.read() as repo:
                seen = repo.get_client_token(identity.uin, region, "RunInstances", token)
            if seen is not None:
                return json.loads(seen.result)
        plan = self.plan_run(identity, region, req)
        with self.db.write() as repo:
            self.check_key_pairs(repo, identity, req.login.key_ids)
            if token:
                repo.lock(f"client-token:{identity.uin}:{region}:{token}")
                seen = repo.get_client_token(identity.uin, region, "RunInstances", token)
                if seen is not None:
                    return json.loads(seen.result)
            if req.dry_run:
                raise errors.DryRunOperation("The request would have succeeded; DryRun is set, so nothing was launched.")
            ids = self.write_run(repo, identity, region, request_id, req, plan)
            if token:
                repo.add(ClientToken(owner_uin=identity.uin, region=region, action="RunInstances", token=token,
                                     result=json.dumps(ids), created_at=utcnow()))
        self.notify()
        return ids

    def plan_run(self, identity: Identity, region: str, req: RunRequest) -> RunPlan:
        """Every RunInstances check that needs no lock, in the order the API reports them."""
        r = self.regions.get(region)
        zone = req.zone
        if not zone:
            raise errors.MissingParameter("The request is missing the required parameter `Placement.Zone`.")
        if zone not in {z.zone for z in r.zones}:
            raise errors.InvalidZoneMismatchRegion(f"The zone `{zone}` does not belong to the region {region}.")
        itype = instance_type_in(req.instance_type or "S5.SMALL1", zone, r.mainland)
        image = self._image_for(identity, region, req.image_id, itype)
        if not 1 <= req.count <= MAX_COUNT:
            raise errors.InvalidParameterValueRange(f"InstanceCount must be between 1 and {MAX_COUNT}, got {req.count}.")
        charge, expires = _charge(req)
        disks = self._plan_disks(identity, region, req, image)
        keep = self._check_login(req, image)
        names = rules.instance_names(req.instance_name, req.count)
        if req.hostname:
            rules.check_hostname(req.hostname, image.os_type, action="RunInstances", count=req.count)
        if req.user_data:
            rules.check_user_data(req.user_data)
        # the network: the subnet given or the zone's default one; the groups given or the default group
        subnet = self.network.choose_subnet(identity, region, zone, req.vpc_id, req.subnet_id, list(req.private_ips),
                                            req.count)
        with self.db.read() as repo:
            sgs = self.network.launch_groups(repo, identity, region, list(req.security_group_ids))
        return RunPlan(zone=zone, itype=itype, image=image, charge=charge, expires=expires, disks=disks,
                       names=tuple(names), keep_image_login=keep, subnet=subnet, security_group_ids=tuple(sgs))

    def _image_for(self, identity: Identity, region: str, image_id: str | None, itype: InstanceType) -> ImageView:
        if not image_id:
            raise errors.MissingParameter("The request is missing the required parameter `ImageId`.")
        image = self.images.get_visible(identity, region, image_id)
        check_launchable(image)  # the image state machine's rule: NORMAL, not deprecated
        if (image.architecture == "arm") != (itype.arch == "arm"):
            raise errors.InvalidParameterValueInvalidImageForGivenInstanceType(
                f"The image `{image.image_id}` is for {image.architecture}; `{itype.instance_type}` runs {itype.arch}."
            )
        if self.driver.boots_images:
            self._check_bootable(image)
        return image

    def _check_bootable(self, image: ImageView) -> None:
        """A driver that boots real guests runs x86_64 ones; the catalogue's Windows images have no
        bootable disk here (a custom image boots its own bytes, whatever its OS)."""
        if image.architecture != "x86_64":
            raise errors.UnsupportedOperationArmArchitecture(
                f"The image `{image.image_id}` is for {image.architecture}; the {self.driver.name} driver runs "
                "x86_64 guests only.")
        if image.is_catalogue and image.os_type == "Windows":
            raise errors.UnsupportedOperationInstanceOsWindows(
                f"The image `{image.image_id}` is a Windows image; the {self.driver.name} driver boots the public "
                "Linux images only (docs/qemu.md).")

    def _plan_disks(self, identity: Identity, region: str, req: RunRequest, image: ImageView) -> tuple[DiskPlan, ...]:
        sys_type = req.system_disk_type or "CLOUD_BSSD"
        if sys_type not in rules.DISK_TYPES:
            raise errors.InvalidParameterValue(f"SystemDisk.DiskType `{sys_type}` is not valid.")
        sys_size = req.system_disk_size or max(50, image.size_gib)
        rules.check_system_disk_size(sys_size, image.size_gib, image.image_id)
        # A whole-machine custom image brings its data disks: each becomes a new data disk, before DataDisks.
        image_data = [(i, s) for i, s in enumerate(image.snapshots) if s.disk_usage == "DATA_DISK"]
        if len(req.data_disks) + len(image_data) > rules.MAX_DATA_DISKS:
            raise errors.InvalidParameterValueLimitExceeded(
                f"At most {rules.MAX_DATA_DISKS} data disks, got {len(req.data_disks)} DataDisks"
                + (f" and {len(image_data)} from the image." if image_data else ".")
            )
        disks = [DiskPlan("SYSTEM_DISK", sys_type, sys_size, "_system", 0, base_kind="image", base_id=image.image_id)]
        for pos, (index, snap) in enumerate(image_data, start=1):
            # an imported data disk may be smaller than the type's minimum: the new disk is that minimum
            size = max(snap.disk_size, rules.DISK_TYPES["CLOUD_PREMIUM"][0])
            disks.append(DiskPlan("DATA_DISK", "CLOUD_PREMIUM", size, f"_data{pos}", pos,
                                  base_kind="image", base_id=image.image_id, base_index=index))
        with self.db.read() as repo:
            for i, d in enumerate(req.data_disks):
                rules.check_data_disk(d.disk_type or "CLOUD_PREMIUM", d.disk_size, f"DataDisks.{i}", encrypted=d.encrypted)
                if d.snapshot_id:
                    snap = repo.get_snapshot(d.snapshot_id)
                    if snap is None or snap.owner_uin != identity.uin or snap.region != region or snap.state != "NORMAL":
                        raise errors.InvalidSnapshotIdNotFound(f"The snapshot `{d.snapshot_id}` does not exist in {region}.")
        for pos, d in enumerate(req.data_disks, start=len(image_data) + 1):
            disks.append(DiskPlan("DATA_DISK", d.disk_type or "CLOUD_PREMIUM", d.disk_size, f"_data{pos}", pos,
                                  delete_with_instance=d.delete_with_instance,
                                  base_kind="snapshot" if d.snapshot_id else "", base_id=d.snapshot_id or "",
                                  name=d.disk_name or None))
        return tuple(disks)

    @staticmethod
    def _check_login(req: RunRequest, image: ImageView) -> bool:
        login = req.login
        if login.key_ids and image.os_type == "Windows":
            raise errors.UnsupportedOperationKeyPairUnsupportedWindows(
                f"The image `{image.image_id}` is a Windows image; Windows instances log in with a password, not key pairs."
            )
        if login.password:
            rules.check_password(login.password, image.os_type)
        keep = str(login.keep_image_login or "FALSE").upper()
        if keep not in ("TRUE", "FALSE"):
            raise errors.InvalidParameterValue("LoginSettings.KeepImageLogin must be TRUE or FALSE.")
        if keep == "TRUE" and image.image_type == "PUBLIC_IMAGE":
            raise errors.InvalidParameterValue("KeepImageLogin can only be used with custom, shared or marketplace images.")
        return keep == "TRUE"

    def write_run(self, repo: Repo, identity: Identity, region: str, request_id: str, req: RunRequest,
                  plan: RunPlan) -> list[str]:
        """The rows of a checked RunInstances: instances (PENDING), their disks, keys, tags and launch jobs."""
        now = utcnow()
        image, itype, net = plan.image, plan.itype, req.internet
        new_ids = [new_id("ins") for _ in plan.names]
        self.network.check_instance_groups(repo, identity, region, list(plan.security_group_ids))  # still there
        fit = self.capacity.place(repo, itype, len(new_ids))  # the rest of the batch fails its launch
        ips = self.network.allocate(repo, identity.uin, plan.subnet, new_ids)
        hostnames = (
            rules.instance_hostnames(req.hostname, req.count, image.os_type, ips)
            if req.hostname else [default_hostname(i) for i in new_ids]
        )
        wants_public = net.public_ip_assigned or bool(net.max_bandwidth_out)
        for n, (name, instance_id, host, ip) in enumerate(zip(plan.names, new_ids, hostnames, ips)):
            public = self.allocate_public_ip(repo, instance_id) if wants_public else ""
            row = Instance(
                instance_id=instance_id, owner_uin=identity.uin, region=region, zone=plan.zone,
                project_id=req.project_id, instance_type=itype.instance_type, cpu=itype.cpu,
                memory_gib=itype.memory_gib, name=name, hostname=host,
                image_id=image.image_id, os_name=image.os_name, os_type=image.os_type,
                license_type=image.license_type, charge_type=plan.charge,
                renew_flag="NOTIFY_AND_MANUAL_RENEW" if plan.expires else "", expired_at=plan.expires,
                state="", private_ip=ip,
                public_ip=public,
                internet_charge_type=net.charge_type, internet_max_bandwidth_out=net.max_bandwidth_out,
                bandwidth_package_id=net.bandwidth_package_id,
                security_group_ids=json.dumps(list(plan.security_group_ids)), keep_image_login=plan.keep_image_login,
                password_set=bool(req.login.password), user_data=req.user_data or "",
                uuid=str(uuidlib.uuid4()), disable_api_termination=req.disable_api_termination,
                stopped_mode="", created_at=now,
            )
            lifecycle.begin_launch(row, request_id)
            repo.add(row)
            for d in plan.disks:
                repo.add(Disk(
                    disk_id=new_id("disk"), owner_uin=identity.uin, region=region, zone=plan.zone, usage=d.usage,
                    disk_type=d.disk_type, size_gib=d.size_gib, name=d.name or f"{name}{d.name_suffix}",
                    state="ATTACHED", instance_id=instance_id, position=d.position,
                    delete_with_instance=d.delete_with_instance, charge_type=plan.charge,
                    base_kind=d.base_kind, base_id=d.base_id, base_index=d.base_index, created_at=now,
                ))
            for key_id in req.login.key_ids:
                repo.add(InstanceKeyPair(instance_id=instance_id, key_id=key_id))
            if req.tags:
                repo.set_tags(instance_id, req.tags)
            # the root password reaches the guest through the launch job (the database keeps only
            # whether one is set); the driver keeps it for the guest's later boots
            payload = {"region": region, **({"password": req.login.password} if req.login.password else {}),
                       **({"no_room": self.capacity.overflow(itype, fit, len(new_ids))} if n >= fit else {})}
            enqueue(repo, "instance_launch", instance_id, payload, owner_uin=identity.uin)
        return new_ids

    def allocate_public_ip(self, repo: Repo, instance_id: str) -> str:
        """A free address of the operator's public range for the instance (released at terminate)."""
        try:
            return PublicIps(repo).allocate(instance_id, self.public_range)
        except PublicIpExhausted:
            raise errors.LimitExceededEipNumLimit(
                f"Every public IP address of {self.public_range} is in use; terminate instances or widen "
                "LOCALCVM_PUBLIC_IP_RANGE.") from None

    def run_launch(self, handle: JobHandle) -> None:
        """The launch job: build missing disk files (bases first), then spawn. The reads are one
        transaction; the disk and driver work happens after it, with no transaction open."""
        instance_id = handle.view.resource_id
        if handle.payload.get("no_room"):
            raise errors.ResourceInsufficientSpecifiedInstanceType(handle.payload["no_room"])
        with self.db.read() as repo:
            row = repo.get_instance(instance_id)
            if row is None:
                handle.finish(False, "instance gone")
                return
            region = row.region
            disks = [(d.disk_id, d.size_gib, self.base_source(repo, d)) for d in repo.disks_of_instance(instance_id)]
            spec = self.vm_spec(repo, row, password=handle.payload.get("password"))
        for disk_id, size_gib, source in disks:
            if not self.volumes.disk_path(region, disk_id).exists():
                self.volumes.create_disk(region, disk_id, size_gib, self.build_base(source))
        handle.progress(60, {"disks": True})
        try:
            self.driver.spawn(spec)
        except VmAlreadyExists:
            pass  # a resumed launch: the VM was defined before the crash
        self.finish_job(handle, "RUNNING")


def instance_type_in(type_name: str, zone: str, mainland: bool) -> InstanceType:
    """The instance type ``type_name`` once it is well-formed, exists and is sold in ``zone``."""
    if not re.fullmatch(r"[A-Z0-9]+\.[A-Z0-9]+", type_name):
        raise errors.InvalidInstanceTypeMalformed(f"The instance type `{type_name}` is malformed (e.g. S5.MEDIUM4).")
    itype = TYPES.get(type_name)
    if itype is None:
        raise errors.InvalidParameterValueInstanceTypeNotFound(f"The instance type `{type_name}` does not exist.")
    if not sold_in(itype, zone, mainland):
        raise errors.ResourceInsufficientZoneSoldOutForSpecifiedInstance(
            f"The instance type `{type_name}` is not sold in {zone}; DescribeZoneInstanceConfigInfos lists what is."
        )
    return itype


def _charge(req: RunRequest) -> tuple[str, datetime | None]:
    charge = req.charge_type or "POSTPAID_BY_HOUR"
    if charge not in CHARGE_TYPES:
        raise errors.InvalidParameterValue(f"InstanceChargeType `{charge}` is not valid.")
    if charge != "PREPAID":
        return charge, None
    period = req.prepaid_period
    if period not in PREPAID_PERIODS:
        raise errors.InvalidPeriod(f"InstanceChargePrepaid.Period must be 1-12, 24, 36, 48 or 60 months, got {period}.")
    return charge, utcnow() + timedelta(days=30 * period)


def default_hostname(instance_id: str) -> str:
    return "VM-" + instance_id.split("-", 1)[1]



"""ApplySnapshot (and its job), ModifySnapshotAttribute, ModifyDiskAttributes, DescribeDiskConfigQuota and
DescribeInstancesDiskNum: the CBS actions that restore or describe disks beyond their life cycle.

ApplySnapshot, as the CBS API documents it: the snapshot must be NORMAL and of that very disk
("only rollback to the original disk"); the disk must be unattached, or its instance stopped, or
``AutoStopInstance`` given (then ``AutoStartInstance`` starts it again). The disk shows
``ROLLBACKING`` while the ``snapshot_apply`` job rebuilds its qcow2 overlay over the snapshot's base
(built from the snapshot's chunks), so the disk's bytes become the snapshot's exactly.
"""

from __future__ import annotations

from datetime import datetime

from ...jobs.queue import JobHandle, enqueue
from ...store.repo import Repo, utcnow
from ...store.repo_core import TermsRepo
from .. import errors
from ..iam import Identity
from ..instances import DISK_TYPES, MAX_DATA_DISKS, SYSTEM_DISK_MAX, BaseSource, lifecycle
from ..names import check_display_name
from ..query import require_ids

SETTLED = ("ATTACHED", "UNATTACHED")
TYPE_UPGRADES = {"CLOUD_BASIC": 0, "CLOUD_PREMIUM": 1, "CLOUD_SSD": 2}  # ModifyDiskAttributes DiskType: upward only
INQUIRY_TYPES = ("INQUIRY_CBS_CONFIG", "INQUIRY_CVM_CONFIG")


def _settled_state(disk) -> str:
    return "ATTACHED" if disk.instance_id else "UNATTACHED"


class RestoreOps:
    """ApplySnapshot and the attribute and quota actions of ``DiskService``."""

    # --- ApplySnapshot -------------------------------------------------------------------------------
    def apply_snapshot(self, identity: Identity, region: str, request_id: str, snapshot_id: str, disk_id: str, *,
                       auto_stop: bool = False, auto_start: bool = False) -> None:
        if auto_start and not auto_stop:
            raise errors.InvalidParameterValue("AutoStartInstance needs AutoStopInstance.")
        with self.db.write() as repo:
            (disk,), owners = self.own_with_owners(repo, identity, region, [disk_id])
            snap = self.own_snapshot(repo, identity, region, snapshot_id)
            if snap.state != "NORMAL":
                raise errors.ResourceUnavailableSnapshotCreating(f"The snapshot `{snapshot_id}` is {snap.state}, not NORMAL.")
            if snap.disk_id != disk.disk_id:
                raise errors.InvalidSnapshotNotSupported(
                    f"The snapshot `{snapshot_id}` is of disk `{snap.disk_id}`; a snapshot rolls back only its own disk."
                )
            if disk.state == "ROLLBACKING":
                raise errors.ResourceInUseDiskRollbacking(f"The disk `{disk_id}` is already rolling back.")
            if disk.state not in SETTLED:
                raise errors.InvalidDiskBusy(f"The disk `{disk_id}` is {disk.state}.")
            inst = owners.get(disk.instance_id) if disk.instance_id else None
            if inst is None and (auto_stop or auto_start):
                raise errors.InvalidParameterValue("AutoStopInstance and AutoStartInstance are for attached disks only.")
            was_running = False
            if inst is not None:
                if inst.state == "RUNNING" and not auto_stop:
                    raise errors.UnsupportedOperationInstanceNotStopped(
                        f"The disk `{disk_id}` is attached to `{inst.instance_id}`, which is RUNNING; stop it first "
                        "or set AutoStopInstance."
                    )
                was_running = inst.state == "RUNNING"
                allowed = lifecycle.LIVE if auto_stop else None
                lifecycle.begin_operation(inst, "ApplySnapshot", allowed, request_id)
            disk.state = "ROLLBACKING"
            enqueue(repo, "snapshot_apply", disk_id,
                    {"region": region, "snapshot_id": snapshot_id, "instance_id": inst.instance_id if inst else None,
                     "was_running": was_running, "auto_start": auto_start}, owner_uin=identity.uin)
        self.notify()

    def run_apply(self, handle: JobHandle) -> None:
        """Stop the VM if asked, rebuild the disk over the snapshot's base, start the VM if asked."""
        p = handle.payload
        disk_id, instance_id = handle.view.resource_id, p.get("instance_id")
        with self.db.read() as repo:
            disk, snap = repo.get_disk(disk_id), repo.get_snapshot(p["snapshot_id"])
            if disk is None or snap is None or snap.manifest is None:
                raise errors.InvalidSnapshotIdNotFound(f"The snapshot `{p['snapshot_id']}` or its disk is gone.")
            source, size = BaseSource(p["region"], "snapshot", p["snapshot_id"], 0, snap.manifest), disk.size_gib
        if instance_id and p.get("was_running"):
            self.driver.power_off(instance_id, hard=False)
        base = self.instances.build_base(source)
        handle.progress(60)
        self.volumes.create_disk(p["region"], disk_id, size, base)
        started = bool(instance_id and p.get("auto_start"))
        if started:
            self.instances.start_vm(instance_id)

        def apply(repo: Repo):
            row = repo.get_disk(disk_id)
            if row is not None:
                row.state, row.base_kind, row.base_id, row.base_index = _settled_state(row), "snapshot", p["snapshot_id"], 0
            inst = repo.get_instance(instance_id) if instance_id else None
            if inst is not None:
                lifecycle.finish_operation(inst, "RUNNING" if started else "STOPPED")

        handle.finish(True, "", apply)

    def fail_apply(self, handle: JobHandle, exc: BaseException) -> None:
        message = lifecycle.failure_message(exc)
        disk_id, instance_id = handle.view.resource_id, handle.payload.get("instance_id")
        running = None
        if instance_id:
            try:
                running = self.driver.info(instance_id).power_state == "running"
            except Exception:  # noqa: BLE001 - the instance keeps what the driver can tell
                running = None

        def apply(repo: Repo):
            row = repo.get_disk(disk_id)
            if row is not None and row.state == "ROLLBACKING":
                row.state = _settled_state(row)
            inst = repo.get_instance(instance_id) if instance_id else None
            if inst is not None:
                lifecycle.fail_operation(inst, message, lifecycle.state_after_failure(False, running))

        handle.finish(False, message, apply)

    # --- ModifySnapshotAttribute ---------------------------------------------------------------------
    def modify_snapshot(self, identity: Identity, region: str, snapshot_id: str, *, name: str | None,
                        permanent: bool | None, deadline: datetime | None) -> None:
        """Name (at most 60 characters), IsPermanent, Deadline (only with IsPermanent false: a snapshot
        given a deadline becomes non-permanent, and goes once it has passed)."""
        if name is not None:
            if len(name) > 60:
                raise errors.InvalidParameterValue(f"SnapshotName must be at most 60 characters, got {len(name)}.")
            check_display_name("SnapshotName", name)
        if deadline is not None and permanent is not True and deadline <= utcnow():
            raise errors.InvalidParameterValue("Deadline must be in the future.")
        with self.db.write() as repo:
            snap = self.own_snapshot(repo, identity, region, snapshot_id)
            if snap.state != "NORMAL":
                raise errors.InvalidSnapshotNotSupported(f"The snapshot `{snapshot_id}` is {snap.state}, not NORMAL.")
            if name is not None:
                snap.name = name or snap.snapshot_id
            if permanent is True:
                terms = TermsRepo(repo).terms_for(snapshot_id)
                terms.permanent, terms.deadline = True, None
            elif deadline is not None or permanent is False:
                terms = TermsRepo(repo).terms_for(snapshot_id)
                terms.permanent, terms.deadline = False, deadline or terms.deadline

    # --- ModifyDiskAttributes ------------------------------------------------------------------------
    def modify_disks(self, identity: Identity, region: str, disk_ids: list[str], *, name: str | None = None,
                     portable: bool | None = None, project_id: int | None = None,
                     delete_with_instance: bool | None = None, disk_type: str | None = None) -> None:
        require_ids("DiskIds", disk_ids)
        if name is not None:
            check_display_name("DiskName", name)
        others = (name, portable, project_id, delete_with_instance)
        if disk_type is not None and (len(set(disk_ids)) > 1 or any(v is not None for v in others)):
            raise errors.InvalidParameterValue("DiskType changes one disk per call and no other attribute with it.")
        with self.db.write() as repo:
            disks = self.own_all(repo, identity, region, disk_ids)
            for disk in disks:
                self._check_disk_change(disk, portable, project_id, delete_with_instance, disk_type)
            for disk in disks:
                if name is not None:
                    disk.name = name
                if delete_with_instance is not None:
                    disk.delete_with_instance = delete_with_instance
                if project_id is not None:
                    TermsRepo(repo).set_disk_project(disk.disk_id, project_id)
                if disk_type is not None:
                    disk.disk_type = disk_type

    @staticmethod
    def _check_disk_change(disk, portable, project_id, delete_with_instance, disk_type) -> None:
        system = disk.usage == "SYSTEM_DISK"
        if disk.state not in SETTLED:
            raise errors.InvalidDiskBusy(f"The disk `{disk.disk_id}` is {disk.state}.")
        if system and (portable or project_id is not None or delete_with_instance is not None):
            # "only portable disks change project", "DeleteWithInstance only for pay-as-you-go data disks"
            raise errors.InvalidDiskNotSupported(
                f"`{disk.disk_id}` is a system disk: it is not portable and goes with its instance."
            )
        if delete_with_instance is not None and disk.charge_type != "POSTPAID_BY_HOUR":
            raise errors.InvalidDiskNotSupported(
                f"DeleteWithInstance applies to pay-as-you-go data disks; `{disk.disk_id}` is {disk.charge_type}."
            )
        if disk_type is not None:
            if disk_type not in ("CLOUD_PREMIUM", "CLOUD_SSD"):
                raise errors.InvalidParameterValue(f"DiskType must be CLOUD_PREMIUM or CLOUD_SSD, got `{disk_type}`.")
            if TYPE_UPGRADES.get(disk.disk_type, 9) >= TYPE_UPGRADES[disk_type]:
                raise errors.InvalidDiskNotSupported(
                    f"The disk `{disk.disk_id}` is {disk.disk_type}; its type can only be raised (to a faster one)."
                )

    # --- DescribeDiskConfigQuota / DescribeInstancesDiskNum ------------------------------------------
    def config_quota(self, region: str, inquiry: str, *, zones: list[str] | None, charge_type: str | None,
                     disk_types: list[str] | None, usage: str | None, families: list[str] | None,
                     cpu: int | None, memory: int | None) -> list[dict]:
        """``[{zone, disk_type, usage, charge_type, family, min, max}]``: what disks may be bought where."""
        if inquiry not in INQUIRY_TYPES:
            raise errors.InvalidParameterValue(f"InquiryType must be one of {', '.join(INQUIRY_TYPES)}, got `{inquiry}`.")
        r = self.regions.get(region, product="cbs")
        known = {z.zone for z in r.zones}
        for zone in zones or []:
            if zone not in known:
                raise errors.InvalidParameterValue(f"The zone `{zone}` is not in {region}.")
        offered = self.instances.type_configs(region, None) if inquiry == "INQUIRY_CVM_CONFIG" else []

        def families_in(zone: str) -> list[str]:
            if inquiry != "INQUIRY_CVM_CONFIG":
                return [""]
            found = {t.family for z, t in offered if z == zone and (cpu is None or t.cpu == cpu)
                     and (memory is None or t.memory_gib == memory)}
            return sorted(f for f in found if not families or f in families)

        out = []
        for zone in sorted(set(zones or known)):
            for disk_type, (low, high) in DISK_TYPES.items():
                for use in ("SYSTEM_DISK", "DATA_DISK"):
                    for charge in ("POSTPAID_BY_HOUR", "PREPAID"):
                        if (disk_types and disk_type not in disk_types) or (usage and use != usage) \
                                or (charge_type and charge != charge_type):
                            continue
                        size = (max(low, 20), SYSTEM_DISK_MAX) if use == "SYSTEM_DISK" else (low, high)
                        out.extend({"zone": zone, "disk_type": disk_type, "usage": use, "charge_type": charge,
                                    "family": family, "min": size[0], "max": size[1]} for family in families_in(zone))
        return out

    def instances_disk_num(self, identity: Identity, region: str, instance_ids: list[str]) -> dict[str, int]:
        """``{instance_id: data disks attached}``; every instance must be the caller's."""
        require_ids("InstanceIds", instance_ids)
        with self.db.read() as repo:
            out = {}
            for instance_id in dict.fromkeys(instance_ids):
                row = repo.get_instance(instance_id)
                if row is None or row.owner_uin != identity.uin or row.region != region:
                    raise errors.InvalidParameterValue(f"The instance `{instance_id}` does not exist in {region}.")
                out[instance_id] = sum(1 for d in repo.disks_of_instance(instance_id) if d.position > 0)
        return out

    max_attach = MAX_DATA_DISKS

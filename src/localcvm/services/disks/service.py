"""CBS cloud disks: data disks that can be created, attached, detached and grown.

Nothing here does disk or driver I/O with a transaction open: an action checks and records its
intent in one transaction (the disk ATTACHING/DETACHING/EXPANDING, the instance busy with the
operation), does the I/O, then writes the outcome in a second transaction (or undoes the first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...blobs.registry import BlobRegistry
from ...hypervisor.driver import DriverError
from ...imaging.volumes import GIB, Volumes
from ...store.db import Database
from ...store.models import Disk, Instance
from ...store.repo import Repo, utcnow
from ...store.repo_core import TermsRepo
from .. import errors
from ..iam import Identity
from ..ids import is_id, new_id
from ..instances import DISK_TYPES, MAX_DATA_DISKS, SYSTEM_DISK_MAX, BaseSource, InstanceService, device_name, lifecycle
from ..names import check_display_name
from ..query import check_describe, match_all, require_ids
from ..regions import RegionCatalogue
from .restore import RestoreOps
from .sharing import SnapshotSharing
from .snapshots import SnapshotOps
from .views import DISK_FILTERS, DiskView, disk_matches

CHARGE_TYPES = ("PREPAID", "POSTPAID_BY_HOUR", "CDCPAID", "DEDICATED_CLUSTER_PAID")
INTERRUPTIBLE = ("ATTACHING", "DETACHING", "EXPANDING")  # the states between two transactions of one request


@dataclass(frozen=True)
class CreateDisksRequest:
    """CreateDisks."""

    zone: str
    disk_type: str
    charge_type: str
    disk_size: int | None = None
    snapshot_id: str | None = None
    disk_name: str | None = None
    count: int = 1
    encrypted: bool = False
    tags: dict[str, str] | None = None


class DiskService(SnapshotOps, RestoreOps):
    def __init__(self, db: Database, regions: RegionCatalogue, volumes: Volumes, blobs: BlobRegistry,
                 instances: InstanceService, notify=None):
        self.db = db
        self.regions = regions
        self.volumes = volumes
        self.blobs = blobs
        self.instances = instances
        self.driver = instances.driver
        self.notify = notify or (lambda: None)
        self.auto_snapshots = None  # AutoSnapshotService, set by Services (it needs this service)

    # Lock order, everywhere a transaction locks both: an instance's row before its disks' rows,
    # and rows of one kind in id order. PostgreSQL would otherwise deadlock two concurrent calls
    # (an AttachDisks holding the instance and waiting for the disk, a DetachDisks the reverse).
    def own(self, repo: Repo, identity: Identity, region: str, disk_id: str) -> Disk:
        return self.own_all(repo, identity, region, [disk_id])[0]

    def own_all(self, repo: Repo, identity: Identity, region: str, disk_ids: list[str]) -> list[Disk]:
        """The caller's disks, locked in id order; checked and returned in the request's order."""
        wanted = list(dict.fromkeys(disk_ids))
        rows = {d: repo.get_disk(d, for_update=True) if is_id("disk", d) else None for d in sorted(wanted)}
        for disk_id in wanted:
            disk = rows[disk_id]
            if disk is None or disk.owner_uin != identity.uin or disk.region != region:
                raise errors.InvalidDiskIdNotFound(f"The disk `{disk_id}` does not exist in {region}.")
        return [rows[d] for d in wanted]

    def own_with_owners(self, repo: Repo, identity: Identity, region: str,
                        disk_ids: list[str]) -> tuple[list[Disk], dict[str, Instance]]:
        """``own_all`` for a call that changes the disks' instances too: the instances the disks are
        attached to are locked first (read unlocked to find them), then the disks. A disk attached
        elsewhere in between is busy: its new instance is not locked."""
        peek = [repo.get_disk(d) for d in dict.fromkeys(disk_ids) if is_id("disk", d)]
        owners = {i: repo.get_instance(i, for_update=True)
                  for i in sorted({d.instance_id for d in peek if d is not None and d.instance_id})}
        disks = self.own_all(repo, identity, region, disk_ids)
        for d in disks:
            if d.instance_id and d.instance_id not in owners:
                raise errors.ResourceBusy(f"The disk `{d.disk_id}` was just attached to `{d.instance_id}`; try again.")
        return disks, {i: row for i, row in owners.items() if row is not None}

    # --- CreateDisks / DescribeDisks -----------------------------------------------------------------
    def create(self, identity: Identity, region: str, req: CreateDisksRequest) -> list[str]:
        self.check_create(region, req)
        with self.db.write() as repo:
            size, source = self._create_size(repo, identity, region, req)
            ids = []
            now = utcnow()
            for i in range(req.count):
                disk_id = new_id("disk")
                ids.append(disk_id)
                name = req.disk_name or disk_id
                if req.count > 1 and req.disk_name:
                    name = f"{req.disk_name}_{i + 1}"
                repo.add(Disk(
                    disk_id=disk_id, owner_uin=identity.uin, region=region, zone=req.zone, usage="DATA_DISK",
                    disk_type=req.disk_type, size_gib=size, name=name, state="UNATTACHED", instance_id=None,
                    position=0, delete_with_instance=False, charge_type=req.charge_type,
                    base_kind="snapshot" if req.snapshot_id else "", base_id=req.snapshot_id or "", base_index=0,
                    created_at=now,
                ))
                if req.tags:
                    repo.set_tags(disk_id, req.tags)
        try:  # the files, with no transaction open
            base = self.instances.build_base(source)
            for disk_id in ids:
                self.volumes.create_disk(region, disk_id, size, base)
        except BaseException:
            with self.db.write() as repo:
                for disk_id in ids:
                    repo.delete_disk(disk_id)
            for disk_id in ids:
                self.volumes.delete_disk(region, disk_id)
            raise
        return ids

    def check_create(self, region: str, req: CreateDisksRequest) -> None:
        """CreateDisks' checks that need no lock (InquiryPriceCreateDisks makes the same)."""
        r = self.regions.get(region, product="cbs")
        if req.zone not in {z.zone for z in r.zones}:
            raise errors.InvalidZoneMismatchRegion(f"The zone `{req.zone}` does not belong to the region {region}.")
        if req.disk_type not in DISK_TYPES:
            raise errors.InvalidParameterValue(f"DiskType `{req.disk_type}` is not valid ({', '.join(DISK_TYPES)}).")
        if req.charge_type not in CHARGE_TYPES:
            raise errors.InvalidParameterValue(f"DiskChargeType `{req.charge_type}` is not valid.")
        if req.encrypted:
            raise errors.UnsupportedOperation("Encrypted disks are not supported.")
        if not 1 <= req.count <= 50:
            raise errors.InvalidParameterValue(f"DiskCount must be between 1 and 50, got {req.count}.")
        check_display_name("DiskName", req.disk_name)

    def _create_size(self, repo: Repo, identity: Identity, region: str, req: CreateDisksRequest):
        size, source = req.disk_size, None
        if req.snapshot_id:
            snap = SnapshotSharing.usable(repo, identity, region, req.snapshot_id)  # its own, or shared with it
            if snap is None:
                raise errors.InvalidSnapshotIdNotFound(f"The snapshot `{req.snapshot_id}` does not exist in {region}.")
            if snap.state != "NORMAL":
                raise errors.ResourceBusy(f"The snapshot `{req.snapshot_id}` is {snap.state}, not NORMAL.")
            size = size or snap.size_gib
            if size < snap.size_gib:
                raise errors.InvalidParameterDiskConfigNotSupported(
                    f"DiskSize {size} GB is smaller than the snapshot's disk ({snap.size_gib} GB)."
                )
            source = BaseSource(region, "snapshot", snap.snapshot_id, 0, snap.manifest)
        if not size:
            raise errors.MissingParameter("The request is missing the required parameter `DiskSize` (or SnapshotId).")
        check_disk_size(req.disk_type, size)
        return size, source

    def describe(self, identity: Identity, region: str, *, ids: list[str] | None, filters: list[dict] | None,
                 offset: int | None, limit: int | None, order_field: str | None = None,
                 order: str | None = None, visible: Callable[[str], bool] | None = None) -> tuple[int, list[DiskView]]:
        self.regions.get(region, product="cbs")
        query = check_describe("DescribeDisks", "DiskIds", ids, filters, DISK_FILTERS, offset, limit)
        with self.db.read() as repo:
            rows = [d for d in repo.disks_of(identity.uin, region, ids) if visible is None or visible(d.disk_id)]
            tags = repo.tags_of([d.disk_id for d in rows])
            projects = TermsRepo(repo).disk_projects([d.disk_id for d in rows])
            policies = self.auto_snapshots.policies_of_disks(repo, [d.disk_id for d in rows]) if self.auto_snapshots else {}
        views = match_all([DiskView.of(d, tags[d.disk_id], project_id=projects.get(d.disk_id, 0),
                                       policy_ids=policies.get(d.disk_id, ())) for d in rows],
                          query.filters, disk_matches)
        if order_field in ("CREATE_TIME", "DEADLINE"):
            views.sort(key=lambda v: v.created_at, reverse=(order or "ASC") == "DESC")
        return len(views), query.page.of(views)

    # --- AttachDisks / DetachDisks -------------------------------------------------------------------
    def attach(self, identity: Identity, region: str, request_id: str, instance_id: str, disk_ids: list[str],
               delete_with_instance: bool = False) -> None:
        with self.db.write() as repo:
            inst = self.instances.own(repo, identity, region, instance_id, lock=True)
            lifecycle.check_operation(inst, "AttachDisks")
            if inst.state == "RUNNING" and not self.driver.supports_hot_plug:
                raise errors.instance_state_error(inst.state, inst.instance_id,
                                                  "AttachDisks (this hypervisor cannot attach to a running instance)")
            disks = self.own_all(repo, identity, region, disk_ids)
            attached = repo.disks_of_instance(inst.instance_id)
            if len(attached) - 1 + len(disks) > MAX_DATA_DISKS:
                raise errors.LimitExceededInstanceAttachedDisk("An instance can have at most 20 data disks.")
            for d in disks:
                if d.state == "ATTACHED":
                    raise errors.ResourceUnavailableAttached(f"The disk `{d.disk_id}` is attached to `{d.instance_id}`.")
                if d.state != "UNATTACHED":
                    raise errors.ResourceBusy(f"The disk `{d.disk_id}` is {d.state}, not UNATTACHED.")
                if d.zone != inst.zone:
                    raise errors.ResourceUnavailableZoneNotMatch(
                        f"The disk `{d.disk_id}` is in {d.zone}; the instance is in {inst.zone}."
                    )
            used = {d.position for d in attached}
            plan = []
            for d in disks:
                position = next(i for i in range(1, 64) if i not in used)
                used.add(position)
                d.state, d.instance_id, d.position = "ATTACHING", inst.instance_id, position
                d.delete_with_instance = delete_with_instance
                plan.append(self.instances.disk_spec(region, d.disk_id, d.size_gib, position))
            lifecycle.begin_operation(inst, "AttachDisks", None, request_id)
        done = []
        try:
            for spec in plan:
                self.driver.attach_disk(instance_id, spec)
                done.append(spec.device)
        except Exception as exc:
            for device in done:
                self._quietly(lambda device=device: self.driver.detach_disk(instance_id, device))
            error = errors.InternalError(f"attaching a disk to {instance_id} failed: {exc}")
            self._settle(instance_id, [d.disk_id for d in disks], error, lambda d: _detached(d))
            raise error from exc
        positions = {d.disk_id: d.position for d in disks}

        def attached(d: Disk) -> None:  # the whole outcome, whatever happened to the row meanwhile
            d.state, d.instance_id, d.position = "ATTACHED", instance_id, positions[d.disk_id]
            d.delete_with_instance = delete_with_instance

        self._settle(instance_id, list(positions), None, attached)

    def detach(self, identity: Identity, region: str, request_id: str, disk_ids: list[str],
               instance_id: str | None = None) -> None:
        with self.db.write() as repo:
            disks, _ = self.own_with_owners(repo, identity, region, disk_ids)
            for d in disks:
                if d.usage == "SYSTEM_DISK":
                    raise errors.InvalidDiskNotPortable(f"The disk `{d.disk_id}` is a system disk; it cannot be detached.")
                if d.state == "UNATTACHED":
                    # DetachDisks documents no code for a disk that is not attached (docs/error-codes.md)
                    raise errors.UnsupportedOperation(f"The disk `{d.disk_id}` is not attached to any instance.")
                if d.state != "ATTACHED":
                    raise errors.ResourceBusy(f"The disk `{d.disk_id}` is {d.state}, not ATTACHED.")
                if instance_id and d.instance_id != instance_id:
                    raise errors.InvalidParameterDataDiskNotBelongSpecifiedInstance(
                        f"The disk `{d.disk_id}` is not attached to `{instance_id}`."
                    )
            owners = {d.instance_id: self.instances.own(repo, identity, region, d.instance_id, lock=True)
                      for d in disks}
            for row in owners.values():
                lifecycle.check_operation(row, "DetachDisks")
                if row.state == "RUNNING" and not self.driver.supports_hot_plug:
                    raise errors.instance_state_error(row.state, row.instance_id,
                                                      "DetachDisks (this hypervisor cannot detach from a running instance)")
            for row in owners.values():
                lifecycle.begin_operation(row, "DetachDisks", None, request_id)
            plan = [(d.disk_id, d.instance_id, device_name(d.position)) for d in disks]
            for d in disks:
                d.state = "DETACHING"
        for _disk_id, owner, device in plan:  # the VM may be gone; the disk is detached either way
            self._quietly(lambda owner=owner, device=device: self.driver.detach_disk(owner, device))
        for owner in owners:
            self._settle(owner, [p[0] for p in plan if p[1] == owner], None, _detached)

    def _settle(self, instance_id: str, disk_ids: list[str], error: errors.ApiError | None,
                apply: Callable[[Disk], None]) -> None:
        """The second transaction of attach/detach: the disks' outcome and the end of the operation."""
        with self.db.write() as repo:
            row = repo.get_instance(instance_id, for_update=True)  # the instance before its disks
            for disk_id in sorted(disk_ids):
                disk = repo.get_disk(disk_id, for_update=True)
                if disk is not None:
                    apply(disk)
            if row is not None:
                if error is None:
                    lifecycle.finish_operation(row)
                else:
                    lifecycle.fail_operation(row, error.message)

    def recover_interrupted(self) -> int:
        """Settle what a crash left between the two transactions of AttachDisks, DetachDisks or
        ResizeDisk (disks ATTACHING, DETACHING or EXPANDING), by what the driver shows; run at
        start-up, before jobs run. Returns how many disks it settled."""
        with self.db.read() as repo:
            pending = [(d.disk_id, d.instance_id, d.position, d.state) for d in repo.disks_in_states(INTERRUPTIBLE)]
            owners = {i: repo.get_instance(i) for i in {p[1] for p in pending if p[1]}}
        resizing = {i for i, r in owners.items() if r is not None and lifecycle.busy(r)
                    and r.latest_operation == "ResizeInstanceDisks"}  # the resize job settles those
        pending = [p for p in pending if p[1] not in resizing]
        found = {}
        for disk_id, owner, position, _state in pending:  # the driver's view, with no transaction open
            info = self.driver.info(owner) if owner else None
            found[disk_id] = info.disk(device_name(position)) if info is not None and info.exists else None
        with self.db.write() as repo:
            for disk_id, owner, _position, state in pending:
                disk = repo.get_disk(disk_id)
                if disk is None or disk.state != state:
                    continue
                spec = found[disk_id]
                if state == "EXPANDING":
                    disk.state = "ATTACHED" if disk.instance_id else "UNATTACHED"
                    if spec is not None:
                        disk.size_gib = max(disk.size_gib, spec.size_bytes // GIB)
                elif spec is not None:
                    disk.state = "ATTACHED"
                else:
                    _detached(disk)
                row = repo.get_instance(owner) if owner else None
                if row is not None and lifecycle.busy(row) and row.latest_operation in ("AttachDisks", "DetachDisks"):
                    lifecycle.finish_operation(row)
        return len(pending)

    @staticmethod
    def _quietly(call: Callable[[], None]) -> None:
        try:
            call()
        except DriverError:
            pass

    # --- ResizeDisk / TerminateDisks -----------------------------------------------------------------
    def resize(self, identity: Identity, region: str, disk_id: str | None, size: int) -> None:
        if not disk_id:
            raise errors.MissingParameter("The request is missing the required parameter `DiskId`.")
        with self.db.write() as repo:
            d = self.check_resize(repo, identity, region, disk_id, size)
            was, owner, position = d.state, d.instance_id, d.position
            d.state = "EXPANDING"
        try:
            info = self.driver.info(owner) if owner else None
            if info is not None and info.exists:
                self.driver.resize_disk(owner, device_name(position), size * GIB)
            else:
                self.volumes.resize_disk(region, disk_id, size)
        except BaseException:
            with self.db.write() as repo:
                disk = repo.get_disk(disk_id)
                if disk is not None:
                    disk.state = was
            raise
        with self.db.write() as repo:
            disk = repo.get_disk(disk_id)
            if disk is not None:
                disk.size_gib, disk.state = size, was

    def check_resize(self, repo: Repo, identity: Identity, region: str, disk_id: str, size: int) -> Disk:
        """ResizeDisk's checks (InquiryPriceResizeDisk makes the same); the disk's row."""
        d = self.own(repo, identity, region, disk_id)
        if size <= d.size_gib:
            raise errors.InvalidParameterValue(f"Disks can only grow: `{d.disk_id}` is {d.size_gib} GB, asked {size} GB.")
        hi = DISK_TYPES.get(d.disk_type, (10, 32000))[1] if d.usage == "DATA_DISK" else SYSTEM_DISK_MAX
        if size > hi:
            raise errors.InvalidParameterValue(f"`{d.disk_id}` can grow to at most {hi} GB.")
        if d.state not in ("ATTACHED", "UNATTACHED"):
            raise errors.InvalidDiskBusy(f"The disk `{d.disk_id}` is {d.state}.")
        return d

    def terminate(self, identity: Identity, region: str, disk_ids: list[str]) -> None:
        with self.db.write() as repo:
            disks = self.own_all(repo, identity, region, require_ids("DiskIds", disk_ids))
            for d in disks:
                if d.state != "UNATTACHED":
                    raise errors.ResourceUnavailableAttached(f"The disk `{d.disk_id}` is attached; detach it first.")
            for d in disks:
                repo.delete_disk(d.disk_id)
        for d in disks:
            self.volumes.delete_disk(region, d.disk_id)


def check_disk_size(disk_type: str, size: int) -> None:
    """A data disk's size must be within its type's range."""
    lo, hi = DISK_TYPES[disk_type]
    if not lo <= size <= hi:
        raise errors.InvalidParameterValue(f"DiskSize must be {lo} to {hi} GB for {disk_type}, got {size}.")


def _detached(d: Disk) -> None:
    d.state, d.instance_id, d.position, d.delete_with_instance = "UNATTACHED", None, 0, False

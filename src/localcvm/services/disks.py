"""CBS cloud disks and snapshots (R3): data disks that can be created, attached, detached and
grown freely, and snapshots kept as chunk manifests in the region's store."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

from ..jobs.queue import JobHandle, enqueue
from ..store.db import Database
from ..store.models import Disk, Snapshot
from ..store.repo import Repo, utcnow
from . import errors
from .iam import Identity
from .ids import is_id, new_id
from .query import check_filters
from .instances import DISK_TYPES, InstanceService, device_name
from .regions import RegionCatalogue
from ..blobs.registry import BlobRegistry
from ..imaging.volumes import GIB, Volumes

DISK_FILTERS = {"disk-usage", "disk-charge-type", "portable", "project-id", "disk-id", "disk-name", "disk-type",
                "disk-state", "instance-id", "zone", "instance-ip-address", "instance-name", "tag-key", "tag-value",
                "return-flag", "creation-start-time"}
SNAPSHOT_FILTERS = {"snapshot-id", "snapshot-name", "snapshot-state", "disk-usage", "project-id", "disk-id", "zone",
                    "encrypt", "snapshot-type", "tag-key", "tag-value"}


@dataclass
class DiskView:
    row: Disk
    tags: dict[str, str] = field(default_factory=dict)


class DiskService:
    def __init__(self, db: Database, regions: RegionCatalogue, volumes: Volumes, blobs: BlobRegistry,
                 instances: InstanceService, notify=None):
        self.db = db
        self.regions = regions
        self.volumes = volumes
        self.blobs = blobs
        self.instances = instances
        self.notify = notify or (lambda: None)

    def _own(self, repo: Repo, identity: Identity, region: str, disk_id: str) -> Disk:
        disk = repo.get_disk(disk_id) if is_id("disk", disk_id) else None
        if disk is None or disk.owner_uin != identity.uin or disk.region != region:
            raise errors.InvalidDiskIdNotFound(f"The disk `{disk_id}` does not exist in {region}.")
        return disk

    def _own_snapshot(self, repo: Repo, identity: Identity, region: str, snapshot_id: str) -> Snapshot:
        snap = repo.get_snapshot(snapshot_id) if is_id("snap", snapshot_id) else None
        if snap is None or snap.owner_uin != identity.uin or snap.region != region:
            raise errors.InvalidSnapshotIdNotFound(f"The snapshot `{snapshot_id}` does not exist in {region}.")
        return snap

    # --- disks -------------------------------------------------------------------------------------
    def create(self, identity: Identity, region: str, p: dict) -> list[str]:
        r = self.regions.get(region, product="cbs")
        zone = p["Placement"]["Zone"]
        if zone not in {z.zone for z in r.zones}:
            raise errors.InvalidZoneMismatchRegion(f"The zone `{zone}` does not belong to the region {region}.")
        dtype = p["DiskType"]
        if dtype not in DISK_TYPES:
            raise errors.InvalidParameterValue(f"DiskType `{dtype}` is not valid ({', '.join(DISK_TYPES)}).")
        charge = p["DiskChargeType"]
        if charge not in ("PREPAID", "POSTPAID_BY_HOUR", "CDCPAID", "DEDICATED_CLUSTER_PAID"):
            raise errors.InvalidParameterValue(f"DiskChargeType `{charge}` is not valid.")
        if p.get("Encrypt") or p.get("KmsKeyId"):
            raise errors.UnsupportedOperation("Encrypted disks are not supported.")
        count = p.get("DiskCount", 1)
        if not 1 <= count <= 50:
            raise errors.InvalidParameterValue(f"DiskCount must be between 1 and 50, got {count}.")
        snapshot_id = p.get("SnapshotId")
        with self.db.write() as repo:
            size = p.get("DiskSize")
            if snapshot_id:
                snap = self._own_snapshot(repo, identity, region, snapshot_id)
                if snap.state != "NORMAL":
                    raise errors.UnsupportedOperationStateError(f"The snapshot `{snapshot_id}` is {snap.state}.")
                size = size or snap.size_gib
                if size < snap.size_gib:
                    raise errors.InvalidParameterDiskSizeNotMatch(
                        f"DiskSize {size} GB is smaller than the snapshot's disk ({snap.size_gib} GB)."
                    )
            if not size:
                raise errors.MissingParameter("The request is missing the required parameter `DiskSize` (or SnapshotId).")
            lo, hi = DISK_TYPES[dtype]
            if not lo <= size <= hi:
                raise errors.InvalidParameterValue(f"DiskSize must be {lo} to {hi} GB for {dtype}, got {size}.")
            ids = []
            now = utcnow()
            tags = {t["Key"]: t["Value"] for t in p.get("Tags") or []}
            for i in range(count):
                disk_id = new_id("disk")
                ids.append(disk_id)
                name = p.get("DiskName") or disk_id
                if count > 1 and p.get("DiskName"):
                    name = f"{p['DiskName']}_{i + 1}"
                repo.add(Disk(
                    disk_id=disk_id, owner_uin=identity.uin, region=region, zone=zone, usage="DATA_DISK",
                    disk_type=dtype, size_gib=size, name=name, state="UNATTACHED", instance_id=None, position=0,
                    delete_with_instance=False, charge_type=charge, base_kind="snapshot" if snapshot_id else "",
                    base_id=snapshot_id or "", base_index=0, created_at=now,
                ))
                if tags:
                    repo.set_tags(disk_id, tags)
                base = self.instances.base_for(repo, repo.get_disk(disk_id))
                self.volumes.create_disk(region, disk_id, size, base)
        return ids

    def describe(self, identity: Identity, region: str, p: dict) -> tuple[int, list[DiskView]]:
        self.regions.get(region, product="cbs")
        ids, limit, offset = p.get("DiskIds"), p.get("Limit", 20), p.get("Offset", 0)
        if ids and p.get("Filters"):
            raise errors.InvalidParameter("DiskIds and Filters cannot be given together.")
        if limit > 100:
            raise errors.InvalidParameterValue(f"Limit must be between 0 and 100, got {limit}.")
        checked = check_filters(p.get("Filters") or [], DISK_FILTERS, "DescribeDisks")
        with self.db.read() as repo:
            rows = repo.disks_of(identity.uin, region, ids)
            tags = repo.tags_of([d.disk_id for d in rows])
        views = [DiskView(d, tags[d.disk_id]) for d in rows]
        for name, values in checked:
            views = [v for v in views if _disk_matches(v, name, values)]
        if p.get("OrderField") in ("CREATE_TIME", "DEADLINE"):
            views.sort(key=lambda v: v.row.created_at, reverse=(p.get("Order") or "ASC") == "DESC")
        return len(views), views[offset: offset + limit]

    def attach(self, identity: Identity, region: str, p: dict) -> None:
        with self.db.write() as repo:
            inst = self.instances.own(repo, identity, region, p["InstanceId"], lock=True)
            if inst.state not in ("RUNNING", "STOPPED"):
                raise errors.instance_state_error(inst.state, inst.instance_id, "AttachDisks")
            disks = [self._own(repo, identity, region, d) for d in dict.fromkeys(p["DiskIds"])]
            attached = repo.disks_of_instance(inst.instance_id)
            if len(attached) - 1 + len(disks) > 20:
                raise errors.LimitExceededInstanceAttachedDisk("An instance can have at most 20 data disks.")
            for d in disks:
                if d.state != "UNATTACHED":
                    raise errors.InvalidDiskAlreadyBound(f"The disk `{d.disk_id}` is {d.state}, not UNATTACHED.")
                if d.zone != inst.zone:
                    raise errors.ResourceUnavailableZoneNotMatch(
                        f"The disk `{d.disk_id}` is in {d.zone}; the instance is in {inst.zone}."
                    )
            used = {d.position for d in attached}
            for d in disks:
                position = next(i for i in range(1, 64) if i not in used)
                used.add(position)
                d.state, d.instance_id, d.position = "ATTACHED", inst.instance_id, position
                d.delete_with_instance = bool(p.get("DeleteWithInstance", False))
                from ..hypervisor.driver import DiskSpec

                try:
                    self.instances.driver.attach_disk(inst.instance_id, DiskSpec(
                        path=self.volumes.disk_path(region, d.disk_id), fmt="qcow2", size_bytes=d.size_gib * GIB,
                        role="data", device=device_name(position)))
                except Exception as exc:
                    raise errors.InternalError(f"attaching {d.disk_id} failed: {exc}") from exc

    def detach(self, identity: Identity, region: str, p: dict) -> None:
        with self.db.write() as repo:
            disks = [self._own(repo, identity, region, d) for d in dict.fromkeys(p["DiskIds"])]
            for d in disks:
                if d.usage == "SYSTEM_DISK":
                    raise errors.InvalidDiskNotPortable(f"The disk `{d.disk_id}` is a system disk; it cannot be detached.")
                if d.state != "ATTACHED":
                    raise errors.UnsupportedOperationStateError(f"The disk `{d.disk_id}` is {d.state}, not ATTACHED.")
                if p.get("InstanceId") and d.instance_id != p["InstanceId"]:
                    raise errors.InvalidParameterDataDiskNotBelongSpecifiedInstance(
                        f"The disk `{d.disk_id}` is not attached to `{p['InstanceId']}`."
                    )
            for d in disks:
                try:
                    self.instances.driver.detach_disk(d.instance_id, device_name(d.position))
                except Exception:
                    pass  # the VM may be gone; the disk is detached either way
                d.state, d.instance_id, d.position, d.delete_with_instance = "UNATTACHED", None, 0, False

    def resize(self, identity: Identity, region: str, p: dict) -> None:
        if not p.get("DiskId"):
            raise errors.MissingParameter("The request is missing the required parameter `DiskId`.")
        with self.db.write() as repo:
            d = self._own(repo, identity, region, p["DiskId"])
            size = p["DiskSize"]
            if size <= d.size_gib:
                raise errors.InvalidParameterValue(f"Disks can only grow: `{d.disk_id}` is {d.size_gib} GB, asked {size} GB.")
            hi = DISK_TYPES.get(d.disk_type, (10, 32000))[1] if d.usage == "DATA_DISK" else 1024
            if size > hi:
                raise errors.InvalidParameterValue(f"`{d.disk_id}` can grow to at most {hi} GB.")
            if d.state not in ("ATTACHED", "UNATTACHED"):
                raise errors.InvalidDiskBusy(f"The disk `{d.disk_id}` is {d.state}.")
            self.volumes.resize_disk(region, d.disk_id, size)
            d.size_gib = size

    def terminate(self, identity: Identity, region: str, p: dict) -> None:
        with self.db.write() as repo:
            disks = [self._own(repo, identity, region, d) for d in dict.fromkeys(p["DiskIds"])]
            for d in disks:
                if d.state != "UNATTACHED":
                    raise errors.ResourceUnavailableAttached(f"The disk `{d.disk_id}` is attached; detach it first.")
            for d in disks:
                repo.delete_disk(d.disk_id)
        for d in disks:
            self.volumes.delete_disk(region, d.disk_id)

    # --- snapshots -----------------------------------------------------------------------------------
    def create_snapshot(self, identity: Identity, region: str, p: dict) -> str:
        if not p.get("DiskId"):
            raise errors.MissingParameter("The request is missing the required parameter `DiskId`.")
        with self.db.write() as repo:
            d = self._own(repo, identity, region, p["DiskId"])
            if d.state not in ("ATTACHED", "UNATTACHED"):
                raise errors.InvalidDiskBusy(f"The disk `{d.disk_id}` is {d.state}.")
            snapshot_id = new_id("snap")
            repo.add(Snapshot(snapshot_id=snapshot_id, owner_uin=identity.uin, region=region, zone=d.zone,
                              disk_id=d.disk_id, usage=d.usage, size_gib=d.size_gib,
                              name=p.get("SnapshotName") or snapshot_id, state="CREATING", percent=0, manifest=None,
                              created_at=utcnow()))
            if p.get("Tags"):
                repo.set_tags(snapshot_id, {t["Key"]: t["Value"] for t in p["Tags"]})
            enqueue(repo, "snapshot_create", snapshot_id, {"region": region, "disk_id": d.disk_id},
                    owner_uin=identity.uin)
        self.notify()
        return snapshot_id

    def run_snapshot(self, handle: JobHandle) -> None:
        p = handle.payload
        work = self.blobs.work_dir(handle.view.job_id)
        with self.db.read() as repo:
            disk = repo.get_disk(p["disk_id"])
            if disk is None:
                raise errors.InvalidDiskIdNotFound(f"The disk `{p['disk_id']}` is gone.")
            base = self.instances.base_manifest(repo, disk)
            inst = repo.get_instance(disk.instance_id) if disk.instance_id and disk.position == 0 else None
            os_facts = self.instances.os_facts(repo, inst) if inst is not None else None
        try:
            manifest = self.volumes.capture(p["region"], p["disk_id"], work, base=base,
                                            progress=lambda done, total: handle.progress(int(95 * done / max(total, 1))))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if os_facts:  # CreateImage from this snapshot describes the OS with these
            manifest.facts["os"] = os_facts

        def apply(repo: Repo):
            snap = repo.get_snapshot(handle.view.resource_id)
            if snap is not None:
                snap.manifest, snap.state, snap.percent = manifest.to_json(), "NORMAL", 100

        handle.finish(True, "", apply)

    def fail_snapshot(self, handle: JobHandle, exc: BaseException) -> None:
        message = exc.message if isinstance(exc, errors.ApiError) else f"{type(exc).__name__}: {exc}"

        def apply(repo: Repo):
            snap = repo.get_snapshot(handle.view.resource_id)
            if snap is not None:
                repo.delete_snapshot(snap.snapshot_id)

        handle.finish(False, message, apply)

    def describe_snapshots(self, identity: Identity, region: str, p: dict) -> tuple[int, list[tuple[Snapshot, dict, list]]]:
        self.regions.get(region, product="cbs")
        ids, limit, offset = p.get("SnapshotIds"), p.get("Limit", 20), p.get("Offset", 0)
        if ids and p.get("Filters"):
            raise errors.InvalidParameter("SnapshotIds and Filters cannot be given together.")
        if limit > 100:
            raise errors.InvalidParameterValue(f"Limit must be between 0 and 100, got {limit}.")
        checked = check_filters(p.get("Filters") or [], SNAPSHOT_FILTERS, "DescribeSnapshots")
        with self.db.read() as repo:
            rows = repo.snapshots_of(identity.uin, region, ids)
            tags = repo.tags_of([s.snapshot_id for s in rows])
            bound = repo.images_of_snapshots([s.snapshot_id for s in rows])
            names = {i.image_id: i.name for i in repo.images_by_ids(sorted({x for v in bound.values() for x in v}))}
        out = [(s, tags[s.snapshot_id]) for s in rows]
        for name, values in checked:
            out = [(s, t) for s, t in out if _snapshot_matches(s, t, name, values)]
        return len(out), [(s, t, [{"ImageId": i, "ImageName": names.get(i, "")} for i in bound.get(s.snapshot_id, [])])
                          for s, t in out[offset: offset + limit]]

    def delete_snapshots(self, identity: Identity, region: str, p: dict) -> None:
        with self.db.write() as repo:
            snaps = [self._own_snapshot(repo, identity, region, s) for s in dict.fromkeys(p["SnapshotIds"])]
            bound = repo.images_of_snapshots([s.snapshot_id for s in snaps])
            for s in snaps:
                if s.state == "CREATING":
                    raise errors.UnsupportedOperationStateError(f"The snapshot `{s.snapshot_id}` is still being created.")
                if bound.get(s.snapshot_id) and not p.get("DeleteBindImages"):
                    raise errors.UnsupportedOperationSnapshotHasBindedImage(
                        f"The snapshot `{s.snapshot_id}` backs the image(s) {', '.join(bound[s.snapshot_id])}; "
                        "delete those images first or set DeleteBindImages."
                    )
            images = {i for s in snaps for i in bound.get(s.snapshot_id, [])}
            if images:  # DeleteBindImages: the images go too (their other snapshots stay)
                self.instances.images.delete(identity, region, sorted(images), repo=repo)
            for s in snaps:
                repo.delete_snapshot(s.snapshot_id)


def _disk_matches(v: DiskView, name: str, values: list[str]) -> bool:
    d = v.row
    simple = {"disk-usage": d.usage, "disk-charge-type": d.charge_type, "disk-id": d.disk_id, "disk-type": d.disk_type,
              "disk-state": d.state, "instance-id": d.instance_id or "", "zone": d.zone,
              "portable": "FALSE" if d.usage == "SYSTEM_DISK" else "TRUE", "project-id": "0"}
    if name in simple:
        return simple[name] in values
    if name == "disk-name":
        return any(x in d.name for x in values)
    if name == "tag-key":
        return any(k in values for k in v.tags)
    if name == "tag-value":
        return any(x in values for x in v.tags.values())
    if name.startswith("tag:"):
        return v.tags.get(name[4:]) in values
    return False


def _snapshot_matches(s: Snapshot, tags: dict, name: str, values: list[str]) -> bool:
    simple = {"snapshot-id": s.snapshot_id, "snapshot-state": s.state, "disk-usage": s.usage, "disk-id": s.disk_id,
              "zone": s.zone, "encrypt": "FALSE", "snapshot-type": "PRIVATE_SNAPSHOT", "project-id": "0"}
    if name in simple:
        return simple[name] in values
    if name == "snapshot-name":
        return any(x in s.name for x in values)
    if name == "tag-key":
        return any(k in values for k in tags)
    if name == "tag-value":
        return any(x in values for x in tags.values())
    if name.startswith("tag:"):
        return tags.get(name[4:]) in values
    return False

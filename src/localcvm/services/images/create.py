"""CreateImage: custom images captured from an instance's disks or built from snapshots.

An image from an instance appears at once as ``CREATING`` with one CBS
snapshot per captured disk (system disk first, then the ``DataDiskIds``), and
a durable ``image_create`` job captures the disks incrementally (only the
chunks the instance changed since launch are read and stored, see
``Volumes.capture``). The job is idempotent: after a crash it runs
again from the start, and every chunk it already stored is found and skipped.
On success the image and its snapshots become ``NORMAL`` in one transaction
(the manifests are written last); on failure the image becomes
``CREATEFAILED``, its snapshots are removed and the chunks written so far are
left for GC.

With ``ForcePoweroff=true`` a running instance is shut down for the capture
(``STOPPING`` -> ``STOPPED``) and started again afterwards; without it the
disk is captured while the instance runs (as the API documents: "false: make
the image with the instance running"). Windows ``Sysprep`` on a running
instance needs ``ForcePoweroff``.
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...blobs import Manifest
from ...blobs.registry import BlobRegistry
from ...hypervisor.driver import ComputeDriver, InvalidVmState, VmNotFound
from ...imaging.volumes import Volumes
from ...jobs.queue import JobHandle, enqueue
from ...store.models import Disk, Image, ImageDisk, Snapshot
from ...store.repo import Repo, utcnow
from .. import errors
from ..iam import Identity
from ..ids import is_id, new_id
from . import lifecycle
from .rules import ImageAccess, check_description, check_family, check_name

if TYPE_CHECKING:  # pragma: no cover - services.instances imports this package
    from ..instances import InstanceService

CAPTURABLE_STATES = ("RUNNING", "STOPPED")
REAL_SECONDS = (3 * 60, 10 * 60)  # how long a real CreateImage takes, roughly


@dataclass(frozen=True)
class CreateImageRequest:
    """CreateImage's parameters (``force_poweroff``/``sysprep``: the documented "true"/"false", decoded)."""

    name: str
    description: str = ""
    family: str = ""
    instance_id: str | None = None
    snapshot_ids: tuple[str, ...] = ()
    data_disk_ids: tuple[str, ...] = ()
    force_poweroff: bool = False
    sysprep: bool = False
    dry_run: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


class ImageCreator:
    """CreateImage and the ``image_create`` job."""

    def __init__(self, access: ImageAccess, instances: "InstanceService", volumes: Volumes, blobs: BlobRegistry,
                 driver: ComputeDriver):
        self.access = access
        self.db = access.db
        self.instances = instances
        self.volumes = volumes
        self.blobs = blobs
        self.driver = driver

    # --- the request ------------------------------------------------------------------------------
    def create(self, identity: Identity, region: str, request_id: str, req: CreateImageRequest) -> str:
        self.access.regions.get(region)
        name = check_name(req.name)
        description = check_description(req.description)
        family = check_family(req.family)
        instance_id, snapshot_ids = req.instance_id, list(req.snapshot_ids)
        if instance_id and snapshot_ids:
            raise errors.InvalidParameter("InstanceId and SnapshotIds cannot be given together; give one of them.")
        if not instance_id and not snapshot_ids:
            raise errors.MissingParameter("CreateImage needs `InstanceId` or `SnapshotIds`.")
        if snapshot_ids and req.data_disk_ids:
            raise errors.InvalidParameter("DataDiskIds can only be given with InstanceId.")
        image_id = new_id("img")
        with self.db.write() as repo:
            if instance_id:
                plan = self._plan_from_instance(repo, identity, region, instance_id, list(req.data_disk_ids),
                                                req.force_poweroff, req.sysprep)
            else:
                plan = self._plan_from_snapshots(repo, identity, region, snapshot_ids)
            self.access.reserve_custom_image(repo, identity, region, name)
            if req.dry_run:
                raise errors.DryRunOperation("The request would have succeeded; DryRun is set, so no image was made.")
            self._add_image(repo, identity, region, image_id, plan, name=name, description=description, family=family)
            if req.tags:
                repo.set_tags(image_id, dict(req.tags))
            payload = {"region": region, "instance_id": instance_id or None, "disks": plan["disks"],
                       "force_poweroff": bool(plan.get("stop")), "request_id": request_id}
            if instance_id:
                self.instances.lifecycle.begin_operation(
                    repo.get_instance(instance_id), "CreateImage", CAPTURABLE_STATES, request_id,
                    interim="STOPPING" if plan.get("stop") else None)
            enqueue(repo, "image_create", image_id, payload, owner_uin=identity.uin)
        self.access.notify()
        return image_id

    @staticmethod
    def _add_image(repo: Repo, identity: Identity, region: str, image_id: str, plan: dict, *,
                   name: str, description: str, family: str) -> None:
        """The CREATING image, its disks and the snapshots it captures."""
        facts = plan["facts"]
        now = utcnow()
        repo.add(Image(
            image_id=image_id, region=region, owner_uin=identity.uin, kind="PRIVATE", source="CREATE_IMAGE",
            name=name, description=description, os_name=facts.get("os_name", "Other Linux"),
            platform=facts.get("platform", "Other"), os_type=facts.get("os_type", "Linux"),
            architecture=facts.get("architecture", "x86_64"), size_gib=plan["size_gib"], state=lifecycle.CREATING,
            sync_percent=0, cloudinit=bool(facts.get("cloudinit", True)),
            license_type=facts.get("license_type", "TencentCloud"),
            boot_mode=facts.get("boot_mode", "Legacy BIOS"), family=family, deprecated=False,
            creator=identity.uin, price_hourly=0.0, provider="", error="", created_at=now,
        ))
        for index, d in enumerate(plan["disks"]):
            repo.add(ImageDisk(image_id=image_id, index=index, snapshot_id=d["snapshot_id"],
                               virtual_size=d["size_gib"] * 1024**3, manifest=None))
            if d.get("new_snapshot"):
                repo.add(Snapshot(
                    snapshot_id=d["snapshot_id"], owner_uin=identity.uin, region=region, zone=d["zone"],
                    disk_id=d["disk_id"], usage="SYSTEM_DISK" if index == 0 else "DATA_DISK",
                    size_gib=d["size_gib"], name=f"Created by CreateImage for {image_id}", state="CREATING",
                    percent=0, manifest=None, created_at=now,
                ))

    def _plan_from_instance(self, repo: Repo, identity: Identity, region: str, instance_id: str,
                            data_disk_ids: list[str], force: bool, sysprep: bool) -> dict:
        row = self.instances.own(repo, identity, region, instance_id, lock=True)
        self.instances.lifecycle.check_operation(row, "CreateImage", CAPTURABLE_STATES)
        if row.state == "RUNNING" and not force and not self.driver.supports_live_snapshot:
            raise errors.instance_state_error(
                row.state, row.instance_id, "CreateImage without ForcePoweroff (this hypervisor captures stopped disks only)")
        if sysprep and row.os_type != "Windows":
            raise errors.InvalidParameterValue("Sysprep applies to Windows instances only.")
        if sysprep and row.state == "RUNNING" and not force:
            raise errors.instance_state_error(row.state, row.instance_id, "CreateImage with Sysprep without ForcePoweroff")
        disks = repo.disks_of_instance(instance_id)
        system, data = disks[0], {d.disk_id: d for d in disks[1:]}
        chosen: list[Disk] = [system]
        for disk_id in dict.fromkeys(data_disk_ids):
            if disk_id == system.disk_id:
                raise errors.InvalidParameterDataDiskIdContainsRootDisk(
                    f"`{disk_id}` is the system disk; DataDiskIds lists data disks only."
                )
            if disk_id not in data:
                raise errors.InvalidParameterDataDiskNotBelongSpecifiedInstance(
                    f"The disk `{disk_id}` is not a data disk of the instance `{instance_id}`."
                )
            chosen.append(data[disk_id])
        for d in chosen:
            if d.state not in ("ATTACHED",):
                raise errors.InvalidDiskBusy(f"The disk `{d.disk_id}` is {d.state}.")
        return {
            "facts": self.instances.os_facts(repo, row),
            "size_gib": system.size_gib,
            "stop": force and row.state == "RUNNING",
            "disks": [{"disk_id": d.disk_id, "snapshot_id": new_id("snap"), "size_gib": d.size_gib, "zone": d.zone,
                       "new_snapshot": True} for d in chosen],
        }

    def _plan_from_snapshots(self, repo: Repo, identity: Identity, region: str, snapshot_ids: list[str]) -> dict:
        snaps: list[Snapshot] = []
        for sid in dict.fromkeys(snapshot_ids):
            if not is_id("snap", sid):
                raise errors.InvalidParameterValueSnapshotIdMalformed(f"The snapshot ID `{sid}` is malformed (expected snap-xxxxxxxx).")
            s = repo.get_snapshot(sid)
            if s is None or s.owner_uin != identity.uin or s.region != region:
                raise errors.InvalidParameterSnapshotNotFound(f"The snapshot `{sid}` does not exist in {region}.")
            if s.state != "NORMAL" or s.manifest is None:
                raise errors.ResourceUnavailableSnapshotCreating(f"The snapshot `{sid}` is {s.state}, not NORMAL.")
            snaps.append(s)
        systems = [s for s in snaps if s.usage == "SYSTEM_DISK"]
        if not systems:
            raise errors.InvalidParameterSystemSnapshotNotFound("SnapshotIds must include one system disk snapshot.")
        if len(systems) > 1:
            raise errors.InvalidParameterDuplicateSystemSnapshots(
                f"SnapshotIds include {len(systems)} system disk snapshots; give exactly one."
            )
        ordered = systems + [s for s in snaps if s.usage != "SYSTEM_DISK"]
        facts = dict(Manifest.from_json(systems[0].manifest).facts.get("os") or {})
        return {
            "facts": facts, "size_gib": systems[0].size_gib, "stop": False,
            "disks": [{"disk_id": s.disk_id, "snapshot_id": s.snapshot_id, "size_gib": s.size_gib, "zone": s.zone,
                       "new_snapshot": False} for s in ordered],
        }

    # --- the job ------------------------------------------------------------------------------------
    def run(self, handle: JobHandle) -> None:
        p = handle.payload
        image_id, instance_id = handle.view.resource_id, p.get("instance_id")
        with self.db.read() as repo:
            image = repo.get_image(image_id)
            if image is None or image.state != lifecycle.CREATING:
                handle.finish(False, "image gone")
                return
        if not instance_id:  # from snapshots: the manifests exist already
            self._pace(handle)
            self._finish(handle, {d["snapshot_id"]: None for d in p["disks"]})
            return
        if p.get("force_poweroff"):
            try:
                self.driver.power_off(instance_id, hard=False)
            except (VmNotFound, InvalidVmState):
                pass  # already off (a resumed job)
            self._set_instance_state(instance_id, "STOPPED")
        manifests = self._capture(handle, p["region"], instance_id, p["disks"])
        self._pace(handle)
        if p.get("force_poweroff"):
            self.instances.start_vm(instance_id)
        self._finish(handle, manifests, restarted=bool(p.get("force_poweroff")))

    def _capture(self, handle: JobHandle, region: str, instance_id: str, disks: list[dict]) -> dict[str, Manifest]:
        """Each disk's chunks stored (only what changed since its base), ``{snapshot_id: manifest}``."""
        manifests: dict[str, Manifest] = {}
        work = self.blobs.work_dir(handle.view.job_id)
        try:
            for n, d in enumerate(disks):
                with self.db.read() as repo:
                    disk = repo.get_disk(d["disk_id"])
                    if disk is None or disk.instance_id != instance_id:
                        raise errors.InvalidDiskIdNotFound(f"The disk `{d['disk_id']}` left the instance during capture.")
                    source, position = self.instances.base_source(repo, disk), disk.position
                    os_facts = self.instances.os_facts(repo, repo.get_instance(instance_id)) if n == 0 else None

                def progress(done: int, todo: int, n=n) -> None:
                    handle.progress(int(95 * (n + done / max(todo, 1)) / len(disks)))

                base = self.instances.source_manifest(source)  # a public image's disk is stored on first use
                with self.instances.frozen_disk(region, d["disk_id"], instance_id, position):
                    manifest = self.volumes.capture(region, d["disk_id"], work, progress=progress, base=base)
                if os_facts:
                    manifest.facts["os"] = os_facts
                manifests[d["snapshot_id"]] = manifest
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return manifests

    def _pace(self, handle: JobHandle) -> None:
        """With ``--time-scale``, stretch the capture to time_scale x 3-10 minutes (a real
        CreateImage takes minutes), so that clients can test their polling; 0: no delay."""
        scale = self.access.settings.time_scale
        if scale <= 0:
            return
        checkpoint = dict(handle.checkpoint)
        if "started" not in checkpoint:
            checkpoint = {"started": time.time(), "duration": scale * random.uniform(*REAL_SECONDS)}
            handle.progress(95, checkpoint)
        end = checkpoint["started"] + checkpoint["duration"]
        while (left := end - time.time()) > 0:
            time.sleep(min(left, 0.5))
            handle.progress(95)  # keeps the lease

    def _set_instance_state(self, instance_id: str, state: str) -> None:
        with self.db.write() as repo:
            row = repo.get_instance(instance_id)
            if row is not None:
                self.instances.lifecycle.advance(row, state)

    def _finish(self, handle: JobHandle, manifests: dict[str, Manifest | None], restarted: bool = False) -> None:
        image_id, instance_id = handle.view.resource_id, handle.payload.get("instance_id")

        def apply(repo: Repo):
            image = repo.get_image(image_id)
            if image is None or image.state != lifecycle.CREATING:
                return
            disks = repo.image_disks(image_id)
            by_index: dict[int, Manifest] = {}
            for disk in disks:
                manifest = manifests.get(disk.snapshot_id)
                snap = repo.get_snapshot(disk.snapshot_id)
                if manifest is None:  # built from an existing snapshot
                    if snap is None or snap.manifest is None:
                        raise errors.InvalidSnapshotIdNotFound(f"The snapshot `{disk.snapshot_id}` is gone.")
                    manifest = Manifest.from_json(snap.manifest)
                elif snap is not None:
                    snap.manifest, snap.state, snap.percent = manifest.to_json(), "NORMAL", 100
                by_index[disk.index] = manifest
            lifecycle.complete(image, disks, by_index)
            if instance_id:
                row = repo.get_instance(instance_id)
                if row is not None:
                    self.instances.lifecycle.finish_operation(row, "RUNNING" if restarted else None)

        handle.finish(True, "", apply)

    def fail(self, handle: JobHandle, exc: BaseException) -> None:
        message = lifecycle.failure_text(exc)
        image_id, p = handle.view.resource_id, handle.payload
        instance_id = p.get("instance_id")
        powered = None
        if instance_id and p.get("force_poweroff"):
            try:
                self.instances.start_vm(instance_id)
            except Exception:  # noqa: BLE001 - the instance keeps whatever state the driver reports
                pass
            powered = self.driver.info(instance_id).power_state == "running"

        def apply(repo: Repo):
            image = repo.get_image(image_id)
            if image is not None and lifecycle.fail(image, message):
                for d in p["disks"]:  # the snapshots the capture made never became usable
                    if d.get("new_snapshot"):
                        repo.delete_snapshot(d["snapshot_id"])
            if instance_id:
                row = repo.get_instance(instance_id)
                if row is not None:
                    back = powered is not None and row.state in ("STOPPING", "STOPPED")
                    self.instances.lifecycle.fail_operation(
                        row, message, state=("RUNNING" if powered else "STOPPED") if back else None)

        handle.finish(False, message, apply)
        shutil.rmtree(self.blobs.work_dir(handle.view.job_id), ignore_errors=True)

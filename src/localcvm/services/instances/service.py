"""``InstanceService``: lookups, DescribeInstances, the instance type catalogue, and what every
instance job shares (the VM spec, disk bases, the end of a job).

Every operation changes the state in one transaction together with the job
that carries it out (PENDING → RUNNING, STOPPING → STOPPED, …; see
``lifecycle``); the job talks to the ComputeDriver and builds the disk files
with no transaction open, so the API shows the real intermediate states and a
crash in the middle is resumed. The actions live in ``launch``, ``power``,
``change`` and ``scale``.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ...blobs import Manifest
from ...hypervisor.driver import ComputeDriver, DiskSpec, VmSpec
from ...imaging.volumes import GIB, Volumes
from ...jobs.queue import JobHandle
from ...store.db import Database
from ...store.models import Disk, Instance
from ...store.repo import Repo
from ...store.repo_compute import instance_ids_in_state
from .. import errors
from ..iam import Identity
from ..images import ImageService
from ..network import NetworkService
from ..query import IdKind, check_describe, check_filters, check_ids, match_all, require_ids
from ..regions import RegionCatalogue
from . import lifecycle
from .change import ChangeOps
from .launch import LaunchOps
from .power import PowerOps
from .scale import ScaleOps
from .capacity import HostCapacity
from .rules import device_name
from .types import offerings
from .views import INSTANCE_FILTERS, Facets, InstanceView, check_time_filters, instance_matches


@dataclass(frozen=True)
class BaseSource:
    """Where a disk's backing file comes from, read in a transaction and built after it."""

    region: str
    kind: str  # "image" | "snapshot"
    base_id: str
    index: int
    snapshot_manifest: str | None = None  # the snapshot's manifest JSON (kind "snapshot")

    @property
    def name(self) -> str:
        return f"{self.base_id}-{self.index}" if self.kind == "image" else self.base_id


class InstanceService(LaunchOps, PowerOps, ChangeOps, ScaleOps):
    def __init__(self, db: Database, regions: RegionCatalogue, images: ImageService, volumes: Volumes,
                 driver: ComputeDriver, notify=None, public_ip_range: str = "127.100.0.0/16",
                 capacity: HostCapacity | None = None):
        self.db = db
        self.capacity = capacity or HostCapacity()  # the vCPUs and memory the host's instances may hold
        # public IPs come from the operator's (loopback) range, unique per data dir
        self.public_range = ipaddress.ip_network(public_ip_range)
        self.regions = regions
        self.images = images
        self.volumes = volumes
        self.driver = driver
        self.notify = notify or (lambda: None)
        # the instance state machine, for the other services that run an operation on an instance
        # (CreateImage captures one); they reach it through this service to keep imports one way
        self.lifecycle = lifecycle
        self.network = NetworkService(db, regions)  # placement, private addresses, security groups

    # --- lookups ---------------------------------------------------------------------------
    def own(self, repo: Repo, identity: Identity, region: str, instance_id: str, *, lock: bool = False) -> Instance:
        check_ids("ins", [instance_id], errors.InvalidInstanceIdMalformed, "instance")
        row = repo.get_instance(instance_id, for_update=lock)
        _check_mine(row, identity, region, instance_id)
        return row

    @staticmethod
    def check_key_pairs(repo: Repo, identity: Identity, key_ids) -> None:
        """LoginSettings.KeyIds of RunInstances / ResetInstance: well-formed, and the caller's."""
        check_ids("skey", list(key_ids), errors.InvalidKeyPairIdMalformed, "key pair")
        for key_id in key_ids:
            key = repo.get_key_pair(key_id)
            if key is None or key.owner_uin != identity.uin:
                raise errors.InvalidKeyPairIdNotFound(f"The key pair `{key_id}` does not exist.")

    def own_many(self, repo: Repo, identity: Identity, region: str, ids: list[str]) -> list[Instance]:
        require_ids("InstanceIds", ids)
        if len(ids) > 100:
            raise errors.InvalidParameterValueLimitExceeded("At most 100 InstanceIds per call.")
        wanted = list(dict.fromkeys(ids))
        check_ids("ins", wanted, errors.InvalidInstanceIdMalformed, "instance")
        # rows are locked in id order, so that two calls naming the same instances in different
        # orders cannot deadlock on PostgreSQL; they are checked and returned in the request's order
        rows = {i: repo.get_instance(i, for_update=True) for i in sorted(wanted)}
        for i in wanted:
            _check_mine(rows[i], identity, region, i)
        return [rows[i] for i in wanted]

    # --- DescribeInstances / DescribeInstancesStatus ----------------------------------------------
    def describe(self, identity: Identity, region: str, *, ids: list[str] | None, filters: list[dict] | None,
                 offset: int | None, limit: int | None,
                 visible: Callable[[str], bool] | None = None) -> tuple[int, list[InstanceView]]:
        """``visible``: CAM's filter (instance id → may the caller read it)."""
        self.regions.get(region)
        self.reconcile()
        query = check_describe("DescribeInstances", "InstanceIds", ids, filters, INSTANCE_FILTERS, offset, limit,
                               id_kind=IdKind("ins", errors.InvalidInstanceIdMalformed, "instance"))
        check_time_filters(query.filters)
        with self.db.read() as repo:
            rows = {r.instance_id: r for r in repo.instances_of(identity.uin, region, ids)
                    if visible is None or visible(r.instance_id)}
            tags = repo.tags_of(list(rows))
            # filters need only the row and its tags; disks and keys are loaded for the page alone
            placed = self.network.placements(repo, list(rows.values()))
            found = match_all([Facets.of(r, tags[i], placed[i]) for i, r in rows.items()], query.filters,
                              instance_matches)
            page_ids = [v.instance_id for v in query.page.of(found)]
            disks = repo.disks_of_instances(page_ids)
            keys = repo.key_ids_of_instances(page_ids)
            views = [InstanceView.of(rows[i], disks.get(i, []), keys.get(i, []), tags[i], placed[i]) for i in page_ids]
        return len(found), views

    def user_data(self, identity: Identity, region: str, ids: list[str], attributes: list[str]) -> dict[str, str | None]:
        """DescribeInstancesAttributes: ``{instance_id: UserData (base64) or None}`` for the caller's instances
        among ``ids`` (unknown ones are left out, as DescribeInstances leaves them out)."""
        self.regions.get(region)
        require_ids("InstanceIds", ids)
        require_ids("Attributes", attributes)
        if len(ids) > 100:
            raise errors.InvalidParameterValueLimitExceeded("At most 100 InstanceIds per call.")
        for name in attributes:
            if name != "UserData":
                raise errors.InvalidParameterValue(f"Attributes: `{name}` is not an instance attribute (UserData).")
        check_ids("ins", ids, errors.InvalidInstanceIdMalformed, "instance")
        with self.db.read() as repo:
            rows = {r.instance_id: r for r in repo.instances_of(identity.uin, region, ids)}
        return {i: (rows[i].user_data or None) for i in dict.fromkeys(ids) if i in rows}

    def vnc_url(self, identity: Identity, region: str, instance_id: str | None) -> str:
        """DescribeInstanceVncUrl: the websocket of the instance's VNC console. The real service refuses a
        STOPPED instance; its URL is a one-time wss:// address, here a ws:// one on 127.0.0.1."""
        if not instance_id:
            raise errors.MissingParameter("The request is missing the required parameter `InstanceId`.")
        with self.db.read() as repo:
            row = self.own(repo, identity, region, instance_id)
            state = row.state
        if state != "RUNNING":
            raise errors.instance_state_error(state, instance_id, "DescribeInstanceVncUrl")
        url = self.driver.vnc_url(instance_id)
        if url is None:
            raise errors.UnsupportedOperation(
                f"The instance `{instance_id}` has no VNC console on the {self.driver.name} driver "
                "(real VMs have one: localcvm serve --driver qemu).")
        return url

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

    # --- what jobs share -----------------------------------------------------------------------------
    def disk_spec(self, region: str, disk_id: str, size_gib: int, position: int) -> DiskSpec:
        """The driver's view of a disk of an instance."""
        return DiskSpec(path=self.volumes.disk_path(region, disk_id), fmt="qcow2", size_bytes=size_gib * GIB,
                        role="system" if position == 0 else "data", device=device_name(position))

    def reconcile(self) -> None:
        """Instances shown RUNNING whose VM is not running any more (the guest powered off, or its
        process died) become STOPPED. Only drivers that run real guests can tell (``live_ids``)."""
        live = self.driver.live_ids()
        if live is None:
            return
        with self.db.read() as repo:
            gone = [i for i in instance_ids_in_state(repo, "RUNNING") if i not in live]
        if not gone:
            return
        live = self.driver.live_ids() or set()  # a VM started meanwhile is not stopped
        with self.db.write() as repo:
            for instance_id in gone:
                row = repo.get_instance(instance_id, for_update=True)
                if row is not None and instance_id not in live:
                    lifecycle.observed_stop(row)

    def vm_spec(self, repo: Repo, row: Instance, password: str | None = None) -> VmSpec:
        """What the driver builds (shape, disks) and tells the guest at boot (keys, user data, addresses).
        ``password`` is the root password when the caller has it (None: the VM keeps its current one)."""
        disks = repo.disks_of_instance(row.instance_id)
        key_ids = repo.key_ids_of(row.instance_id)
        return VmSpec(
            instance_id=row.instance_id, cpu=row.cpu, memory_mib=row.memory_gib * 1024,
            disks=[self.disk_spec(row.region, d.disk_id, d.size_gib, d.position) for d in disks],
            user_data=base64.b64decode(row.user_data) if row.user_data else None, ssh_port=None,
            hostname=row.hostname or None,
            ssh_keys=[k.public_key for k in repo.key_pairs_of(row.owner_uin, key_ids)] if key_ids else [],
            password=password, region=row.region, zone=row.zone, private_ip=row.private_ip,
            public_ip=row.public_ip, subnet_cidr=self.network.subnet_cidr(repo, row) or "",
            metadata={"instance_name": row.name, "instance_type": row.instance_type,
                                               "image_id": row.image_id, "uuid": row.uuid},
        )

    def start_vm(self, instance_id: str) -> None:
        """Power the VM on with the instance's shape as the database has it now (its current type's
        CPU and memory: ResetInstancesType takes effect at the next start). Reads in one short
        transaction, then calls the driver with none open."""
        with self.db.read() as repo:
            row = repo.get_instance(instance_id)
            spec = self.vm_spec(repo, row) if row is not None else None
        self.driver.power_on(instance_id, spec=spec)

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

    def base_source(self, repo: Repo, disk: Disk) -> BaseSource | None:
        """Where the disk's backing file comes from (None: a blank disk); reads the database only."""
        if not disk.base_kind:
            return None
        manifest = None
        if disk.base_kind == "snapshot":
            snap = repo.get_snapshot(disk.base_id)
            manifest = snap.manifest if snap is not None else None
        return BaseSource(disk.region, disk.base_kind, disk.base_id, disk.base_index, manifest)

    def source_manifest(self, source: BaseSource | None) -> Manifest | None:
        """The chunk manifest of a backing file, or None (blank disk, or its source is gone)."""
        if source is None:
            return None
        if source.kind == "image":
            try:
                return self.images.disk_manifest(source.region, source.base_id, source.index)
            except errors.ApiError:
                return None
        return Manifest.from_json(source.snapshot_manifest) if source.snapshot_manifest is not None else None

    def build_base(self, source: BaseSource | None) -> Path | None:
        """The read-only backing file of a disk (built on first use); call it with no transaction open."""
        if source is None:
            return None
        manifest = self.source_manifest(source)
        if manifest is None:
            if source.kind == "snapshot":
                raise errors.InvalidSnapshotIdNotFound(f"The snapshot `{source.base_id}` is gone.")
            raise errors.InvalidImageIdIncorrectState(f"The image `{source.base_id}` has no stored disk {source.index}.")
        return self.volumes.ensure_base(source.region, source.name, manifest)

    def base_for(self, repo: Repo, disk: Disk) -> Path | None:
        """``build_base`` of the disk's source (reads through ``repo``, then builds: avoid inside a transaction)."""
        return self.build_base(self.base_source(repo, disk))

    @contextlib.contextmanager
    def frozen_disk(self, region: str, disk_id: str, instance_id: str | None, position: int) -> Iterator[Path]:
        """A consistent view of a disk for a capture (CreateSnapshot, CreateImage): the driver's
        ``frozen_disk`` while the disk is attached to a VM, else the file itself. Yields the disk
        file's path; open no transaction inside."""
        path = self.volumes.disk_path(region, disk_id)
        if not instance_id or not self.driver.info(instance_id).exists:
            yield path
            return
        with self.driver.frozen_disk(instance_id, device_name(position)) as frozen:
            if Path(frozen) != path:  # Volumes.capture reads the disk file by its id
                raise errors.InternalError(f"the driver froze {frozen}, not the disk file of `{disk_id}`")
            yield path

    def finish_job(self, handle: JobHandle, state: str | None, extra=None) -> None:
        """The job's operation succeeded: the instance is ``state``; ``extra(repo, row)`` writes the rest."""
        def apply(repo: Repo):
            row = repo.get_instance(handle.view.resource_id)
            if row is None:
                return
            lifecycle.finish_operation(row, state)
            if extra:
                extra(repo, row)

        handle.finish(True, "", apply)

    def fail_job(self, handle: JobHandle, exc: BaseException) -> None:
        """A failed instance job: a launch leaves LAUNCH_FAILED with no disks; any other operation
        leaves the instance in the power state its VM has (the API shows RUNNING or STOPPED)."""
        message = lifecycle.failure_message(exc)
        instance_id = handle.view.resource_id
        launch = handle.view.kind == "instance_launch"
        running = None
        if launch:
            try:
                self.driver.destroy(instance_id)
            except Exception:
                pass
            with self.db.read() as repo:
                disks = repo.disks_of_instance(instance_id)
            for disk in disks:
                self.volumes.delete_disk(disk.region, disk.disk_id)
        else:
            try:
                running = self.driver.info(instance_id).power_state == "running"
            except Exception:
                running = None
        state = lifecycle.state_after_failure(launch, running)

        def apply(repo: Repo):
            row = repo.get_instance(instance_id)
            if row is None:
                return
            lifecycle.fail_operation(row, message, state)
            for disk in repo.disks_of_instance(instance_id):
                if launch:
                    repo.delete_disk(disk.disk_id)
                elif disk.state == "EXPANDING":
                    disk.state = "ATTACHED"

        handle.finish(False, message, apply)


def _check_mine(row: Instance | None, identity: Identity, region: str, instance_id: str) -> None:
    if row is None or row.owner_uin != identity.uin or row.region != region:
        raise errors.InvalidInstanceIdNotFound(f"The instance `{instance_id}` does not exist in {region}.")

"""The service container: everything a request handler, worker or CLI command needs."""

from __future__ import annotations

from ..clock import Clock
from ..config import Settings
from ..jobs.worker import JobKind, WorkerPool
from ..store.db import Database
from . import errors
from .iam import AccountService, CamService
from .images import ImageCreator, ImageService
from .regions import RegionCatalogue
from ..blobs.registry import BlobRegistry


class Services:
    def __init__(self, settings: Settings, *, migrate: bool = True):
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = Database(settings.effective_database_url)
        if migrate:
            self.db.migrate()
        self.clock = Clock(settings.data_dir, movable=settings.test_clock)
        self.regions = RegionCatalogue.load(settings.regions_file or None)
        self.accounts = AccountService(self.db)
        self.cam = CamService(self.db, self.clock, self.accounts.keys)
        self.accounts.sub_user_login = self.cam.check_console_password
        self.blobs = BlobRegistry(settings)
        self.workers: WorkerPool | None = None
        self.images = ImageService(settings, self.db, self.regions, self.blobs, notify=self._notify)
        self.volumes = self.images.volumes
        self.driver = _make_driver(settings)
        if self.driver.boots_images:  # the public Linux images boot the small guest disk
            from .compute import guest_disk

            self.images.catalogue.use_guest_disk(guest_disk(settings))
        from .disks import DiskService
        from .instances import InstanceService
        from .instances.capacity import HostCapacity
        from .keypairs import KeyPairService
        from .tagging import TaggingService

        self.instances = InstanceService(self.db, self.regions, self.images, self.volumes, self.driver, notify=self._notify,
                                         public_ip_range=settings.public_ip_range,
                                         capacity=HostCapacity(settings.host_vcpus, settings.host_memory_gib))
        self.keypairs = KeyPairService(self.db)
        self.tagging = TaggingService(self.db)
        self.network = self.instances.network
        # Connections to a QEMU instance's forwarded ports pass its security groups' ingress rules
        # (each new connection is checked, so a rule change applies without a restart).
        self.driver.set_connection_policy(self.network.connection_allowed)
        self.disks = DiskService(self.db, self.regions, self.volumes, self.blobs, self.instances, notify=self._notify)
        from .disks.policies import AutoSnapshotService, SnapshotScheduler

        self.auto_snapshots = AutoSnapshotService(self.db, self.disks, self.clock,
                                                  retention_amount=settings.auto_snapshot_retention_amount)
        self.disks.auto_snapshots = self.auto_snapshots  # DescribeDisks shows each disk's policies
        self.scheduler: SnapshotScheduler | None = None
        from .disks.copies import SnapshotCopier

        self.snapshot_copier = SnapshotCopier(self.disks, self.blobs)
        from .disks.sharing import SnapshotSharing

        self.snapshot_sharing = SnapshotSharing(self.disks, limit=settings.share_limit)
        from .launch_templates import LaunchTemplateService

        self.launch_templates = LaunchTemplateService(self.db)
        from .billing import BillingService

        self.billing = BillingService(settings, self.db, self.regions, self.clock, self.images, self.instances, self.disks)
        self.image_creator = ImageCreator(self.images.access, self.instances, self.volumes, self.blobs, self.driver)

    def _notify(self) -> None:
        if self.workers is not None:
            self.workers.notify()

    def job_kinds(self) -> dict[str, JobKind]:
        images = self.images
        return {
            "import_image": JobKind(run=images.importer.run, on_error=images.fail_job),
            "export_image": JobKind(run=images.exporter.run, on_error=images.exporter.fail),
            "instance_launch": JobKind(run=self.instances.run_launch, on_error=self.instances.fail_job),
            "instance_power": JobKind(run=self.instances.run_power, on_error=self.instances.fail_job),
            "instance_terminate": JobKind(run=self.instances.run_terminate, on_error=self.instances.fail_job),
            "instance_reset": JobKind(run=self.instances.run_reset, on_error=self.instances.fail_job),
            "instance_resize": JobKind(run=self.instances.run_resize, on_error=self.instances.fail_job),
            "instance_retype": JobKind(run=self.instances.run_reset_type, on_error=self.instances.fail_job),
            "snapshot_create": JobKind(run=self.disks.run_snapshot, on_error=self.disks.fail_snapshot),
            "snapshot_apply": JobKind(run=self.disks.run_apply, on_error=self.disks.fail_apply),
            # a copy resumes where it was (as sync_image): restarts are not failures
            "snapshot_copy": JobKind(run=self.snapshot_copier.run, on_error=self.snapshot_copier.fail, max_attempts=100),
            "image_create": JobKind(run=self.image_creator.run, on_error=self.image_creator.fail),
            # a copy resumes where it was: restarts are not failures, so allow many attempts
            "sync_image": JobKind(run=images.copier.run, on_error=images.fail_job, max_attempts=100),
        }

    def start_workers(self, threads: int | None = None) -> WorkerPool | None:
        threads = self.settings.workers if threads is None else threads
        if threads <= 0:
            return None
        self.disks.recover_interrupted()
        self.workers = WorkerPool(self.db, self.job_kinds(), threads=threads, expected=_told_to_user).start()
        # auto-snapshot policies take their slots beside the workers that make the snapshots
        from .disks.policies import SnapshotScheduler

        self.scheduler = SnapshotScheduler(self.auto_snapshots, self.settings.snapshot_scheduler_interval).start()
        return self.workers

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.workers is not None:
            self.workers.stop()
        self.driver.close()
        self.blobs.close()
        self.db.dispose()


def _told_to_user(exc: BaseException) -> bool:
    """A job failure that is an outcome with a real error code (the image's state shows it), not a bug."""
    return isinstance(exc, errors.ApiError) and exc.code != "InternalError"


def _make_driver(settings: Settings):
    from .compute import check_public_range

    check_public_range(settings.public_ip_range)
    if settings.driver == "fake":
        from ..hypervisor.fake import FakeDriver

        return FakeDriver(settings.data_dir / "vms")
    if settings.driver == "qemu":
        from .compute import qemu_driver

        return qemu_driver(settings)
    raise ValueError(f"unknown compute driver `{settings.driver}` (LOCALCVM_DRIVER: fake or qemu)")

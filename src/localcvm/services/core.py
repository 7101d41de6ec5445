"""The service container: everything a request handler, worker or CLI command needs."""

from __future__ import annotations

from ..clock import Clock
from ..config import Settings
from ..jobs.worker import JobKind, WorkerPool
from ..store.db import Database
from . import errors
from .iam import AccountService
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
        from .keypairs import KeyPairService
        from .network import NetworkService
        from .tagging import TaggingService

        self.instances = InstanceService(self.db, self.regions, self.images, self.volumes, self.driver, notify=self._notify,
                                         public_ip_range=settings.public_ip_range)
        self.keypairs = KeyPairService(self.db)
        self.tagging = TaggingService(self.db)
        self.network = NetworkService(self.db, self.regions)
        self.disks = DiskService(self.db, self.regions, self.volumes, self.blobs, self.instances, notify=self._notify)
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
            "snapshot_create": JobKind(run=self.disks.run_snapshot, on_error=self.disks.fail_snapshot),
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
        return self.workers

    def close(self) -> None:
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

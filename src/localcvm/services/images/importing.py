"""ImportImage: the request, and its job (download -> inspect (untrusted!) -> convert to raw -> chunk -> NORMAL).

An import with ``ImportImageDataDiskList`` is a whole-machine image, as CreateImage with
``DataDiskIds`` makes one: the system disk from ``ImageUrl``, then one data disk per entry, each
imported the same way, in order. Each step of the job is idempotent and checkpointed per disk, so
a job whose worker died is picked up again and finishes (the disks it finished are not redone).
Progress is reported as the image's ``SyncPercent`` while it is IMPORTING.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ...blobs import Manifest, write_image
from ...blobs.stream import write_stream
from ...blobs.registry import BlobRegistry
from ...imaging import qemu_img
from ...imaging.inspect import UnsafeImage, inspect_image, inspect_qcow2_head, is_vhd_footer, streams_as_raw
from ...imaging.qcow2 import QCOW_MAGIC
from ...imaging.qcow2_stream import NotStreamable, Qcow2Stream
from ...imaging.probe import InspectResult
from ...imaging.mapped_read import open_mapped
from ...imaging.qcow2_read import open_qcow2
from ...imaging.probe import HEAD_SIZE
from ...imaging.volumes import Volumes
from ...jobs.queue import JobHandle, enqueue
from ...store.models import Image, ImageDisk
from ...store.repo import Repo, utcnow
from .. import errors
from ..errors import ImportFailed
from ..iam import Identity
from ..ids import new_id
from . import lifecycle
from .catalogue import IMPORT_OS, WINDOWS_IMPORT
from .download import Body, download, fetch, fetch_tail, save
from .rules import ImageAccess, check_description, check_family, check_name, check_url

GIB = 1024**3
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class ImportImageRequest:
    """ImportImage's parameters."""

    name: str
    os_type: str
    os_version: str
    architecture: str
    image_url: str
    description: str = ""
    boot_mode: str | None = None
    license_type: str | None = None
    family: str = ""
    data_disk_urls: tuple[str, ...] = ()  # ImportImageDataDiskList's ImageUrls, in order
    force: bool = False
    dry_run: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


class ImageImporter:
    """ImportImage and the ``import_image`` job."""

    def __init__(self, access: ImageAccess, blobs: BlobRegistry, volumes: Volumes):
        self.access = access
        self.settings = access.settings
        self.blobs = blobs
        self.volumes = volumes

    def request(self, identity: Identity, region: str, req: ImportImageRequest) -> str:
        self.access.regions.get(region)
        name = check_name(req.name)
        description = check_description(req.description)
        os_type, os_version, arch = req.os_type, req.os_version, req.architecture
        boot_mode, license_type = self._check_os(req)
        family = check_family(req.family)
        url = check_url(req.image_url, self.settings.import_allowed_hosts)
        from ..instances.rules import MAX_DATA_DISKS  # noqa: PLC0415 - instances imports images

        if len(req.data_disk_urls) > MAX_DATA_DISKS:
            raise errors.InvalidParameterValue(
                f"ImportImageDataDiskList has {len(req.data_disk_urls)} entries; an image carries at most "
                f"{MAX_DATA_DISKS} data disks.")
        data_urls = [check_url(u, self.settings.import_allowed_hosts, f"ImportImageDataDiskList.{i}.ImageUrl")
                     for i, u in enumerate(req.data_disk_urls)]
        image_id = new_id("img")
        with self.access.db.write() as repo:
            self.access.reserve_custom_image(repo, identity, region, name)
            if req.dry_run:
                raise errors.DryRunOperation("The request would have succeeded; DryRun is set, so nothing was imported.")
            platform = os_type if os_type != "Other Linux" else "Other"
            repo.add(Image(
                image_id=image_id, region=region, owner_uin=identity.uin, kind="PRIVATE", source="EXTERNAL_IMPORT",
                name=name, description=description, os_name=f"{os_type} {os_version}".strip(), platform=platform,
                os_type="Windows" if os_type in WINDOWS_IMPORT else "Linux",
                architecture={"arm_64": "arm"}.get(arch, arch), size_gib=0, state=lifecycle.IMPORTING, sync_percent=0,
                cloudinit=os_type not in WINDOWS_IMPORT, license_type=license_type, boot_mode=boot_mode,
                family=family, deprecated=False, creator=identity.uin, price_hourly=0.0, provider="", error="",
                created_at=utcnow(),
            ))
            for index in range(1 + len(data_urls)):
                repo.add(ImageDisk(image_id=image_id, index=index, snapshot_id=new_id("snap"), virtual_size=0,
                                   manifest=None))
            if req.tags:
                repo.set_tags(image_id, dict(req.tags))
            enqueue(repo, "import_image", image_id,
                    {"url": url, "data_urls": data_urls, "region": region, "force": req.force}, owner_uin=identity.uin)
        self.access.notify()
        return image_id

    @staticmethod
    def _check_os(req: ImportImageRequest) -> tuple[str, str]:
        """The OS as DescribeImportImageOs lists it; ``(boot mode, license type)``."""
        if req.os_type not in IMPORT_OS:
            raise errors.InvalidImageOsTypeUnsupported(
                f"The OsType `{req.os_type}` is not supported; DescribeImportImageOs lists the supported ones."
            )
        versions, arches = IMPORT_OS[req.os_type]
        if req.os_version not in versions and "-" not in versions:
            raise errors.InvalidImageOsVersionUnsupported(
                f"The OsVersion `{req.os_version}` of {req.os_type} is not supported (supported: {', '.join(versions)})."
            )
        if req.architecture not in arches:
            raise errors.InvalidParameterValue(
                f"The Architecture `{req.architecture}` is not supported for {req.os_type} (supported: {', '.join(arches)})."
            )
        boot_mode = req.boot_mode or "Legacy BIOS"
        if boot_mode not in ("Legacy BIOS", "UEFI"):
            raise errors.InvalidParameterValueInvalidBootMode(f"BootMode must be `Legacy BIOS` or `UEFI`, got `{boot_mode}`.")
        license_type = req.license_type or "TencentCloud"
        if license_type not in ("TencentCloud", "BYOL"):
            raise errors.InvalidParameterValueInvalidLicenseType(f"LicenseType must be `TencentCloud` or `BYOL`, got `{license_type}`.")
        return boot_mode, license_type

    # --- the job ----------------------------------------------------------------------------------
    def run(self, handle: JobHandle) -> None:
        image_id = handle.view.resource_id
        region = handle.payload["region"]
        urls = [handle.payload["url"], *handle.payload.get("data_urls", ())]
        work = self.blobs.work_dir(handle.view.job_id)
        state = dict(handle.checkpoint)

        def report(percent: float, **checkpoint) -> None:
            pct = int(max(0, min(99, percent)))
            state.update(checkpoint)

            def apply(repo: Repo):
                row = repo.get_image(image_id)
                if row is None:
                    raise ImportFailed("The image was deleted while it was being imported.")
                row.sync_percent = pct

            handle.progress(pct, state if checkpoint else None, apply)

        manifests: dict[int, Manifest] = {}
        index = 0
        try:
            report(state.get("pct", 0))
            for index, url in enumerate(urls):
                steps = _DiskSteps(state, report, index, len(urls))
                manifests[index] = self._import_disk(url, work / f"disk{index}", region, f"{image_id}-{index}", steps)
        except qemu_img.QemuImgError as exc:
            raise ImportFailed(f"The image could not be converted{_which(index, urls)}: {exc}") from None
        except ImportFailed as exc:
            if not index:
                raise
            raise ImportFailed(f"{exc}{_which(index, urls)}") from None

        def finish(repo: Repo):
            row = repo.get_image(image_id)
            if row is None:
                raise ImportFailed("The image was deleted while it was being imported.")
            lifecycle.complete(row, repo.image_disks(image_id), manifests, resize=True)

        handle.finish(True, "", finish)
        shutil.rmtree(work, ignore_errors=True)
        # A streamed import has no raw file to adopt: its launch base is made from the chunks now,
        # after NORMAL (a launch meanwhile makes it itself, under the same lock; a crash: at launch).
        for index, manifest in manifests.items():
            self.volumes.prepare_base(region, f"{image_id}-{index}", manifest)

    def _import_disk(self, url: str, work: Path, region: str, base: str, steps: _DiskSteps) -> Manifest:
        """One disk of the image: its manifest (kept in the checkpoint, so a resumed job skips it)."""
        done = steps.get("manifest")
        if done is not None:
            return Manifest.from_json(done)
        streamed = None if steps.get("converted") else self._stream_raw(url, work, region, steps)
        manifest = streamed if isinstance(streamed, Manifest) else \
            self._import_file(url, work, region, base, steps, downloaded=streamed)
        steps(100, manifest=manifest.to_json())
        return manifest

    def _stream_raw(self, url: str, work: Path, region: str, report) -> Manifest | Path | None:
        """A raw disk, or a qcow2 in qemu-img's order, chunked as it downloads (no scratch file,
        each byte written once). Any other file is for the whole-file path: one known from its
        first bytes (another header, or a VHD footer the server sends for a Range request) is
        downloaded on in the same GET (its Path); one known only later (a qcow2 that does not
        stream, a VHD footer found at the end) is None: it is downloaded again."""
        limit = min(self.settings.max_import_bytes, self.settings.max_image_virtual_gib * GIB)
        with fetch(url, self.settings.max_import_bytes) as body:
            body.max_bytes = limit
            head = bytearray(HEAD_SIZE)
            head = head[:body.readinto(memoryview(head))]
            if head.startswith(QCOW_MAGIC):
                return self._stream_qcow2(head, body, region, lambda: report(99 * body.received / (body.expected or limit)))
            # a fixed VHD has no header, only a footer: ask for the last 512 bytes first, so that one
            # is downloaded once, for the file path (check_last below still catches it otherwise)
            if not streams_as_raw(bytes(head)) or (body.expected and body.expected > len(head) + 512 and
                                                   is_vhd_footer(fetch_tail(body.url, 512) or b"")):
                body.max_bytes = self.settings.max_import_bytes
                work.mkdir(parents=True, exist_ok=True)
                save(body, str(work / "download"), lambda f: report(f * 40), prefix=bytes(head), durable=False)
                return work / "download"

            def check_last(tail: bytes) -> None:
                if is_vhd_footer(tail):
                    raise _NotRaw

            try:
                return write_stream(self.blobs.store(region), _Prefixed(head, body),
                                    progress=lambda got: report(99 * got / (body.expected or limit)),
                                    check_last=check_last, facts={"source_format": "raw"})
            except _NotRaw:
                return None

    def _stream_qcow2(self, head: bytearray, body: Body, region: str, progress) -> Manifest | None:
        """A qcow2 chunked as it downloads, when it arrives in a streamable order (as qemu-img
        writes one); None (the file path then) otherwise. Its header is checked first, as the
        file path checks it: nothing else ever parses the bytes."""
        try:
            inspect_qcow2_head(bytes(head), max_virtual_size=self.settings.max_image_virtual_gib * GIB)
        except UnsafeImage as exc:
            raise ImportFailed(f"The image was rejected: {exc}") from None
        try:
            stream = Qcow2Stream(_Prefixed(head, body), bytes(head))
            return write_stream(self.blobs.store(region), stream, progress=lambda _got: progress(),
                                facts={"source_format": "qcow2"})
        except NotStreamable:
            return None

    def _import_file(self, url: str, work: Path, region: str, base: str, report: _DiskSteps, *,
                     downloaded: Path | None = None) -> Manifest:
        """The whole-file path: download and inspect; a qcow2, VMDK or VHD whose data is stored
        uncompressed is chunked straight from the download (read in guest order, no raw copy);
        anything else is converted to raw, chunked, and the raw file becomes the base."""
        raw = work / "disk.raw"
        work.mkdir(parents=True, exist_ok=True)
        if not (report.get("converted") and raw.exists()):
            src, found = self._download(url, work, report, downloaded)
            manifest = self._chunk_in_place(src, found, region, report) if found.format != "raw" else None
            if manifest is not None:
                shutil.rmtree(work, ignore_errors=True)
                return manifest
            if found.format == "raw":
                os.replace(src, raw)
            else:
                qemu_img.convert(src, found.format, raw, "raw", lambda pct: report(40 + pct * 0.3))
                os.unlink(src)
            report(70, converted=True, pct=70, format=found.format)
        manifest = write_image(self.blobs.store(region), str(raw), facts={"source_format": report.get("format") or "raw"},
                               progress=lambda done, total: report(70 + 29 * done / max(total, 1)))
        # The converted file becomes the read-only base that instance disks are overlays of
        # (a rename), so launching from the image never depends on its size.
        self.volumes.adopt_base(region, base, Path(raw))
        # Drop the scratch copy before the image turns NORMAL, so a launch right after never
        # competes with deleting it (a crash from here on just redoes the import).
        shutil.rmtree(work, ignore_errors=True)
        return manifest

    def _download(self, url: str, work: Path, report: _DiskSteps,
                  downloaded: Path | None) -> tuple[Path, InspectResult]:
        """The file downloaded to ``work/download`` (unless this run has ``downloaded`` it) and
        inspected. The scratch file is not made durable: nothing is checkpointed on it, so a job
        resumed after a crash downloads again."""
        src = work / "download"
        if downloaded is None:
            download(url, str(src), self.settings.max_import_bytes, lambda f: report(f * 40), durable=False)
        report(40)
        # The file is untrusted: inspect its header in Python before anything else reads it.
        try:
            return src, inspect_image(str(src), max_virtual_size=self.settings.max_image_virtual_gib * GIB)
        except UnsafeImage as exc:
            raise ImportFailed(f"The image was rejected: {exc}") from None

    def _chunk_in_place(self, src: Path, found: InspectResult, region: str, report: _DiskSteps) -> Manifest | None:
        """An inspected qcow2, VMDK or VHD chunked from where its data sits in the download (a
        qcow2's clusters, or the runs ``qemu-img map`` shows stored as they are); None when some
        of it is compressed, or its layout needs qemu-img to read."""
        fd = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
        try:
            reader = open_qcow2(fd) if found.format == "qcow2" else None
            if reader is None:
                reader = open_mapped(fd, src, found.format, found.virtual_size)
            if reader is None:
                return None
            size = reader.virtual_size
            return write_stream(self.blobs.store(region), reader, progress=lambda got: report(40 + 59 * got / max(size, 1)),
                                facts={"source_format": found.format})
        finally:
            os.close(fd)


class _DiskSteps:
    """One disk's share of an import job: its checkpoint keys (``<index>.<step>``) and its part of
    the progress (disk ``index`` of ``count`` reports within its own slice of 0-100 %)."""

    def __init__(self, state: dict, report, index: int, count: int):
        self.state, self.report, self.index, self.count = state, report, index, count

    def get(self, key: str):
        return self.state.get(f"{self.index}.{key}")

    def __call__(self, percent: float, **checkpoint) -> None:
        overall = (100 * self.index + min(percent, 100)) / self.count
        self.report(overall, **{f"{self.index}.{k}": v for k, v in checkpoint.items()},
                    **({"pct": overall} if "pct" in checkpoint else {}))


def _which(index: int, urls: list[str]) -> str:
    """Names the data disk an error is about (nothing for the system disk)."""
    return f" (data disk {index}, ImportImageDataDiskList.{index - 1})" if index else ""


class _Prefixed:
    """The bytes already read (the head the format was probed from), then the rest of the body."""

    def __init__(self, head: bytearray, body: Body):
        self.head, self.body = memoryview(head), body

    def readinto(self, buf: memoryview) -> int:
        n = min(len(buf), len(self.head))
        buf[:n], self.head = self.head[:n], self.head[n:]
        return n + (self.body.readinto(buf[n:]) if n < len(buf) else 0)


class _NotRaw(Exception):
    """The streamed file turned out to be a fixed VHD (its footer at the end)."""

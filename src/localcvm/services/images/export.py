"""ExportImages: custom images' disks written to a COS bucket as RAW, QCOW2, VHD or VMDK files.

The object store is COS-compatible: ``local``, a bucket is a directory
``<data-dir>/cos/<bucket>`` (created on first use); ``s3``, a bucket of the
configured S3-compatible server, which must exist. One ``export_image`` job per
exported disk reads the disk's chunks, converts the file and publishes it.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from ...blobs import Manifest, read_image
from ...blobs.registry import BlobRegistry
from ...config import Settings
from ...imaging import qemu_img
from ...jobs.queue import JobHandle, enqueue
from .. import errors
from ..iam import Identity
from . import lifecycle
from .rules import ImageAccess

EXPORT_FORMATS = {"RAW": "raw", "QCOW2": "qcow2", "VHD": "vpc", "VMDK": "vmdk"}
EXPORT_EXT = {"RAW": "raw", "QCOW2": "qcow2", "VHD": "vhd", "VMDK": "vmdk"}


@dataclass(frozen=True)
class ExportImagesRequest:
    """ExportImages' parameters."""

    image_ids: tuple[str, ...]
    bucket_name: str
    export_format: str | None = None
    file_name_prefixes: tuple[str, ...] | None = None
    only_root_disk: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class ExportResult:
    """The export task and the COS object names it writes."""

    task_id: int
    cos_paths: tuple[str, ...]


def export_file_name(prefix: str, image_id: str, snapshot_id: str, index: int, fmt: str) -> str:
    kind = "system" if index == 0 else "data"
    name = f"{image_id}_{kind}_{snapshot_id}.{EXPORT_EXT[fmt]}"
    return f"{prefix}_{name}" if prefix else name


def check_bucket(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name or "") or ".." in name:
        raise errors.InvalidParameterValue(
            f"BucketName `{name}` is not a valid bucket name (lowercase letters, digits, '-' and '.', 3-63 characters)."
        )
    return name


def _unique_exports(req: ExportImagesRequest) -> list[tuple[str, str]]:
    """``(image_id, file name prefix)`` pairs in request order, each once: the same image under the same
    prefix would write the same objects twice."""
    prefixes = req.file_name_prefixes or ("",) * len(req.image_ids)
    return list(dict.fromkeys(zip(req.image_ids, prefixes)))


def _check_format(req: ExportImagesRequest) -> str:
    fmt = (req.export_format or "RAW").upper()
    if fmt not in EXPORT_FORMATS:
        raise errors.InvalidParameterValue(f"ExportFormat must be one of RAW, QCOW2, VHD, VMDK, got `{req.export_format}`.")
    prefixes = req.file_name_prefixes
    if prefixes is not None and len(prefixes) != len(req.image_ids):
        raise errors.InvalidParameterValue(
            f"FileNamePrefixList has {len(prefixes)} entries but ImageIds has {len(req.image_ids)}; give one prefix per image."
        )
    for prefix in prefixes or ():
        if not re.fullmatch(r"[A-Za-z0-9._-]{0,64}", prefix):
            raise errors.InvalidParameterValue(f"The file name prefix `{prefix}` may use letters, digits, '.', '_' and '-'.")
    return fmt


class ObjectStore:
    """The COS-compatible object store exports are written to (see the module's docstring)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._s3 = None

    @property
    def is_s3(self) -> bool:
        return self.settings.cos_backend == "s3"

    def _client(self):
        if self._s3 is None:
            import boto3
            from botocore.config import Config

            s = self.settings
            self._s3 = boto3.client(
                "s3", endpoint_url=s.s3_endpoint or None, aws_access_key_id=s.s3_access_key or None,
                aws_secret_access_key=s.s3_secret_key or None, region_name=s.s3_region,
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5}),
            )
        return self._s3

    def bucket_dir(self, bucket: str) -> Path:
        return Path(self.settings.data_dir) / "cos" / bucket

    def bucket_writable(self, bucket: str) -> bool:
        """Whether exports can be written to ``bucket``; creates nothing (see ``open_bucket``)."""
        if self.is_s3:
            try:
                self._client().head_bucket(Bucket=bucket)
                return True
            except Exception:
                return False
        path = self.bucket_dir(bucket)
        while not path.exists():  # a local bucket is made on first use: its nearest existing parent decides
            path = path.parent
        return path.is_dir() and os.access(path, os.W_OK)

    def open_bucket(self, bucket: str) -> None:
        """Make a local bucket's directory (an S3 bucket must exist already)."""
        if not self.is_s3:
            self.bucket_dir(bucket).mkdir(parents=True, exist_ok=True)

    def put_file(self, bucket: str, key: str, path: Path) -> None:
        """Publish ``path`` as ``key``; readers never see a partial object."""
        if self.is_s3:
            self._client().upload_file(str(path), bucket, key)
            return
        dest = self.bucket_dir(bucket) / key
        # one temporary name per write: concurrent exports of the same object never share it
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.part")
        if path.stat().st_dev != tmp.parent.stat().st_dev:
            shutil.copyfile(path, tmp)
        else:
            os.replace(path, tmp)
        with open(tmp, "rb+") as fh:
            os.fchmod(fh.fileno(), 0o644)  # every export readable alike (a renamed work file may be 0600)
            os.fsync(fh.fileno())
        os.replace(tmp, dest)


class ImageExporter:
    """ExportImages and the ``export_image`` job."""

    def __init__(self, access: ImageAccess, blobs: BlobRegistry, cos: ObjectStore):
        self.access = access
        self.blobs = blobs
        self.cos = cos

    def request(self, identity: Identity, region: str, req: ExportImagesRequest) -> ExportResult:
        self.access.regions.get(region)
        if not req.image_ids:
            raise errors.InvalidParameterImageIdsSnapshotIdsMustOne("ExportImages needs ImageIds (SnapshotIds is not open).")
        bucket = check_bucket(req.bucket_name)
        fmt = _check_format(req)
        if not self.cos.bucket_writable(bucket):
            raise errors.InvalidParameterValueInvalidBucketPermissionForExport(
                f"The bucket `{bucket}` does not exist or cannot be written."
            )
        task_id = secrets.randbelow(9_000_000) + 1_000_000
        plans: list[tuple[str, int, str]] = []
        with self.access.db.write() as repo:
            self._check_bucket_owner(repo, identity, bucket)
            for image_id, prefix in _unique_exports(req):
                if image_id in self.access.catalogue:
                    public = self.access.catalogue[image_id].image_type == "PUBLIC_IMAGE"
                    cls = (errors.UnsupportedOperationPublicImageExportUnsupported if public
                           else errors.UnsupportedOperationMarketImageExportUnsupported)
                    raise cls(f"The image `{image_id}` is a {'public' if public else 'marketplace'} image; "
                              "only custom images can be exported.")
                row = self.access.own_image(repo, identity, region, image_id,
                                            shared_error=errors.UnsupportedOperationSharedImageExportUnsupported)
                if row.os_type == "Windows":
                    raise errors.UnsupportedOperationWindowsImageExportUnsupported(
                        f"The image `{image_id}` is a Windows image; Windows images cannot be exported."
                    )
                lifecycle.check_normal(row)
                for disk in repo.image_disks(image_id)[: 1 if req.only_root_disk else None]:
                    plans.append((image_id, disk.index,
                                  export_file_name(prefix, image_id, disk.snapshot_id, disk.index, fmt)))
            if req.dry_run:
                raise errors.DryRunOperation("The images can be exported; DryRun is set, so nothing was exported.")
            repo.after_commit(lambda: self.cos.open_bucket(bucket))
            for image_id, index, name in plans:
                enqueue(repo, "export_image", image_id,
                        {"region": region, "bucket": bucket, "key": name, "format": fmt, "disk": index,
                         "task_id": task_id}, owner_uin=identity.uin)
        self.access.notify()
        return ExportResult(task_id, tuple(name for _, _, name in plans))

    @staticmethod
    def _check_bucket_owner(repo, identity: Identity, bucket: str) -> None:
        """A COS bucket belongs to one account, whose AppId its name carries (``name-APPID``); a bucket
        named without one belongs to the first account that exports to it."""
        suffix = re.fullmatch(r".*-(\d{10})", bucket)  # an AppId has ten digits
        foreign_suffix = suffix is not None and int(suffix.group(1)) != identity.app_id
        if foreign_suffix or repo.bucket_owner(bucket, identity.uin) != identity.uin:
            raise errors.InvalidParameterValueInvalidBucketPermissionForExport(
                f"The bucket `{bucket}` belongs to another account; export to a bucket of this account."
            )

    # --- the job ------------------------------------------------------------------------------------
    def run(self, handle: JobHandle) -> None:
        p = handle.payload
        work = self.blobs.work_dir(handle.view.job_id)
        with self.access.db.read() as repo:
            disks = [d for d in repo.image_disks(handle.view.resource_id) if d.index == p["disk"]]
        if not disks or disks[0].manifest is None:
            raise errors.InvalidImageIdNotFound("The image was deleted before it was exported.")
        manifest = Manifest.from_json(disks[0].manifest)
        raw = work / "disk.raw"
        read_image(self.blobs.store(p["region"]), manifest, raw,
                   progress=lambda done, total: handle.progress(int(50 * done / max(total, 1))))
        if p["format"] == "RAW":
            out = raw
        else:
            out = work / f"disk.{EXPORT_EXT[p['format']]}"
            options = {"subformat": "streamOptimized"} if p["format"] == "VMDK" else None
            qemu_img.convert(raw, "raw", out, EXPORT_FORMATS[p["format"]],
                             lambda pct: handle.progress(50 + int(pct * 0.45)), options=options)
        self.cos.put_file(p["bucket"], p["key"], out)
        handle.finish(True)
        shutil.rmtree(work, ignore_errors=True)

    @staticmethod
    def fail(handle: JobHandle, exc: BaseException) -> None:
        handle.finish(False, str(exc))

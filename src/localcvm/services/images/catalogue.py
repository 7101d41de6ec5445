"""The image catalogue: public and marketplace images, the view every image is seen through, localisation.

Public and marketplace images come from the catalogue files in ``localcvm/data``
(the same IDs in every region, as in the real service). Their system disks are
generated (``imaging.public_disk``) and stored in a region's chunk store on first use; under a
driver that boots real guests the Linux x86_64 ones hold the bootable guest disk instead
(``use_guest_disk``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path

from ...blobs import Manifest
from ...blobs.registry import BlobRegistry
from ...imaging.public_disk import PublicDisk, file_chunk_data, file_manifest, public_chunk_data, public_manifest
from ..regions import is_english

CATALOGUE_TIME = datetime(2024, 1, 1)
IMPORT_OS = {
    # OsType -> (versions, architectures), as DescribeImportImageOs lists them
    "CentOS": (["5", "6", "7", "8"], ["x86_64", "i386"]),
    "Ubuntu": (["14.04", "16.04", "18.04", "20.04", "22.04", "24.04"], ["x86_64", "i386", "arm_64"]),
    "Debian": (["8", "9", "10", "11", "12"], ["x86_64", "i386", "arm_64"]),
    "TencentOS": (["2", "3", "4"], ["x86_64", "arm_64"]),
    "OpenCloudOS": (["8", "9"], ["x86_64", "arm_64"]),
    "Rocky Linux": (["8", "9"], ["x86_64", "arm_64"]),
    "AlmaLinux": (["8", "9"], ["x86_64", "arm_64"]),
    "OpenSUSE": (["15"], ["x86_64"]),
    "FreeBSD": (["12", "13", "14"], ["x86_64"]),
    "Other Linux": (["-"], ["x86_64", "i386", "arm_64"]),
    "Windows": (["Windows Server 2016", "Windows Server 2019", "Windows Server 2022"], ["x86_64"]),
}
WINDOWS_IMPORT = ("Windows",)


@dataclass(frozen=True)
class ImageSnapshot:
    """One disk of an image, as ``SnapshotSet`` lists it."""

    snapshot_id: str
    disk_usage: str  # SYSTEM_DISK | DATA_DISK
    disk_size: int  # GiB


@dataclass(frozen=True)
class ImageView:
    """An image as a caller sees it."""

    image_id: str
    image_type: str  # PUBLIC_IMAGE | PRIVATE_IMAGE | SHARED_IMAGE | MARKET_IMAGE
    source: str
    name: str
    description: str
    os_name: str
    platform: str
    os_type: str
    architecture: str
    size_gib: int
    state: str
    created_at: datetime
    creator: str = ""
    sync_percent: int | None = None
    cloudinit: bool = True
    license_type: str = "TencentCloud"
    family: str = ""
    deprecated: bool = False
    boot_mode: str = "Legacy BIOS"
    price_hourly: float = 0.0
    provider: str = ""
    error: str = ""
    owner_uin: str | None = None
    region: str = ""
    snapshots: tuple[ImageSnapshot, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_catalogue(self) -> bool:
        return self.image_type in ("PUBLIC_IMAGE", "MARKET_IMAGE")


@dataclass(frozen=True)
class ImportOs:
    """One OS DescribeImportImageOs lists."""

    os_name: str
    versions: tuple[str, ...]
    architectures: tuple[str, ...]


def import_os_list() -> list[ImportOs]:
    return [ImportOs(name, tuple(versions), tuple(arches)) for name, (versions, arches) in IMPORT_OS.items()]


def _english(text: str) -> str:
    return (text.replace("64位", "64bit").replace("32位", "32bit").replace("数据中心版", "Datacenter")
            .replace("中文版", "Chinese").replace("英文版", "English"))


def localized(view: ImageView, language: str | None) -> ImageView:
    """The view in the caller's language: catalogue names are Chinese, English on request."""
    if not is_english(language) or not view.is_catalogue:
        return view
    return replace(view, name=_english(view.name), os_name=_english(view.os_name),
                   description=_english(view.description))


def _load(name: str) -> list[dict]:
    return json.loads(resources.files("localcvm.data").joinpath(name).read_text(encoding="utf-8"))["images"]


def _entry_view(e: dict, image_type: str, source: str) -> ImageView:
    return ImageView(
        image_id=e["ImageId"], image_type=image_type, source=source, name=e["ImageName"],
        description=e.get("ImageDescription", ""), os_name=e["OsName"], platform=e["Platform"],
        os_type=e.get("OsType", "Linux"), architecture=e.get("Architecture", "x86_64"),
        size_gib=int(e.get("ImageSize", 20)), state="NORMAL", created_at=CATALOGUE_TIME,
        creator="", cloudinit=bool(e.get("IsSupportCloudinit", e.get("OsType", "Linux") == "Linux")),
        license_type=e.get("LicenseType", "TencentCloud"), family=e.get("ImageFamily", ""),
        price_hourly=float(e.get("PriceHourly", 0.0)), provider=e.get("Provider", ""),
    )


def _disk_of(view: ImageView) -> PublicDisk:
    return PublicDisk(view.image_id, view.os_name, view.os_type, view.architecture, view.size_gib)


class Catalogue(Mapping[str, ImageView]):
    """The public and marketplace images by ID (a read-only mapping)."""

    def __init__(self, blobs: BlobRegistry):
        self.blobs = blobs
        self.public = [_entry_view(e, "PUBLIC_IMAGE", "OFFICIAL") for e in _load("public_images.json")]
        self.market = [_entry_view(e, "MARKET_IMAGE", "MARKET") for e in _load("marketplace_images.json")]
        self.by_id = {v.image_id: v for v in self.public + self.market}
        self.guest_disk: Path | None = None

    def use_guest_disk(self, path: Path) -> None:
        """Put the bootable guest disk (``imaging.guest``) behind every catalogue Linux x86_64 image,
        public and marketplace: their system disks then boot under a driver that runs real guests."""
        self.guest_disk = Path(path)

    def boots_guest(self, view: ImageView) -> bool:
        """True when the image's system disk is the bootable guest disk."""
        return self.guest_disk is not None and view.os_type == "Linux" and view.architecture == "x86_64"

    def _manifest(self, view: ImageView) -> Manifest:
        disk = _disk_of(view)
        return file_manifest(self.guest_disk, disk) if self.boots_guest(view) else public_manifest(disk)

    def __getitem__(self, image_id: str) -> ImageView:
        return self.by_id[image_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_id)

    def __len__(self) -> int:
        return len(self.by_id)

    def in_region(self, region: str) -> list[ImageView]:
        return [replace(v, region=region) for v in self.public + self.market]

    def public_manifests(self) -> list[Manifest]:
        """The manifests of the public images' disks (what chunk GC must keep)."""
        return [self._manifest(v) for v in self.public]

    def system_manifest(self, region: str, image_id: str) -> Manifest:
        """The system disk of a catalogue image, its chunks stored in ``region`` on first use."""
        view = self.by_id[image_id]
        disk = _disk_of(view)
        store = self.blobs.store(region)
        written = False
        chunks = file_chunk_data(self.guest_disk) if self.boots_guest(view) else public_chunk_data(disk).items()
        for digest, chunk in chunks:
            if not store.touch(digest, len(chunk)):
                store.put(digest, chunk)
                written = True
        if written:
            store.sync()
        return self._manifest(view)

"""DeleteImages removes an image's base files only after its transaction has committed: while the
files go, another account's write request completes (on SQLite a held write transaction would block it)."""

from __future__ import annotations

from tests.unit.services_util import new_identity

import threading

import pytest

from localcvm.services import errors
from localcvm.services.core import Services
from localcvm.services.iam import Identity
from localcvm.store.models import Image, ImageDisk
from localcvm.store.repo import utcnow

REGION = "ap-guangzhou"


def _image(services: Services, owner: Identity, image_id: str) -> None:
    with services.db.write() as repo:
        repo.add(Image(
            image_id=image_id, region=REGION, owner_uin=owner.uin, kind="PRIVATE", source="EXTERNAL_IMPORT",
            name=image_id, description="", os_name="Ubuntu 22.04", platform="Ubuntu", os_type="Linux",
            architecture="x86_64", size_gib=1, state="NORMAL", sync_percent=None, cloudinit=True,
            license_type="TencentCloud", boot_mode="Legacy BIOS", family="", deprecated=False, creator=owner.uin,
            price_hourly=0.0, provider="", error="", created_at=utcnow(),
        ))
        repo.add(ImageDisk(image_id=image_id, index=0, snapshot_id=f"snap-{image_id[4:]}", virtual_size=0,
                           manifest=None))
    base = services.volumes.base_path(REGION, f"{image_id}-0")
    base.parent.mkdir(parents=True, exist_ok=True)
    base.write_bytes(b"base")


def _blocking_drop(services: Services, other: Identity, seen: list[str]):
    """A ``drop_base`` that, before removing the file, makes another account write (within 5 s)."""
    drop = services.volumes.drop_base

    def blocking(region: str, name: str) -> None:
        if not seen:
            done = threading.Event()

            def write():
                services.keypairs.create(other, "k1", 0, {})
                done.set()

            threading.Thread(target=write, daemon=True).start()
            assert done.wait(5.0), "another account's write waited for DeleteImages' transaction"
        seen.append(name)
        drop(region, name)

    return blocking


def test_delete_images_drops_base_files_after_commit(services, monkeypatch):
    owner, other = new_identity(services, "owner"), new_identity(services, "other")
    _image(services, owner, "img-0000d001")
    seen: list[str] = []
    monkeypatch.setattr(services.volumes, "drop_base", _blocking_drop(services, other, seen))
    services.images.delete(owner, REGION, ["img-0000d001"])
    assert "img-0000d001-0" in seen
    assert not services.volumes.base_path(REGION, "img-0000d001-0").exists()


def test_delete_inside_a_callers_transaction_drops_after_that_commit(services, monkeypatch):
    owner, other = new_identity(services, "owner"), new_identity(services, "other")
    _image(services, owner, "img-0000d002")
    seen: list[str] = []
    monkeypatch.setattr(services.volumes, "drop_base", _blocking_drop(services, other, seen))
    with services.db.write() as repo:
        services.images.delete(owner, REGION, ["img-0000d002"], repo=repo)
        assert not seen  # nothing removed while the caller's transaction is open
    assert "img-0000d002-0" in seen


def test_a_rolled_back_delete_keeps_the_base_files(services):
    owner = new_identity(services, "owner")
    _image(services, owner, "img-0000d003")
    with pytest.raises(errors.DryRunOperation), services.db.write() as repo:
        services.images.delete(owner, REGION, ["img-0000d003"], repo=repo)
        raise errors.DryRunOperation("roll back")
    assert services.volumes.base_path(REGION, "img-0000d003-0").exists()
    with services.db.read() as repo:
        assert repo.get_image("img-0000d003") is not None

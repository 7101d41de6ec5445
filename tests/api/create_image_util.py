"""Helpers for CreateImage tests: instances whose disks carry known bytes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from .images_util import wait_image
from .instances_util import call, instance, public_image, wait_state

MiB = 1024 * 1024
REGION = "ap-guangzhou"


def launch(client, *, data_disks=(), image_id=None, name="src", count=1, wait=True) -> list[str]:
    body = {"ImageId": image_id or public_image(client), "InstanceType": "S5.MEDIUM4", "InstanceName": name,
            "Placement": {"Zone": "ap-guangzhou-3"}, "InstanceCount": count}
    if data_disks:
        body["DataDisks"] = [{"DiskSize": size, "DiskType": "CLOUD_PREMIUM"} for size in data_disks]
    ids = call(client, "RunInstances", body).InstanceIdSet
    if wait:
        wait_state(client, ids, "RUNNING")
    return ids


def disk_ids(client, instance_id: str) -> list[str]:
    """System disk first, then the data disks in device order."""
    i = instance(client, instance_id)
    return [i.SystemDisk.DiskId] + [d.DiskId for d in (i.DataDisks or [])]


def disk_file(server, disk_id: str) -> Path:
    return server.data_dir / "disks" / REGION / f"{disk_id}.qcow2"


def write_pattern(server, disk_id: str, offset: int, length: int, pattern: int) -> None:
    """Write ``length`` bytes of ``pattern`` at ``offset`` into the disk (its qcow2 overlay), as a guest would."""
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -P {pattern} {offset} {length}", str(disk_file(server, disk_id))],
                   check=True, capture_output=True)


def write_bytes(server, disk_id: str, offset: int, data: bytes, tmp: Path) -> None:
    """Write arbitrary bytes at ``offset`` into the disk (qemu-io ``write -s FILE``)."""
    src = tmp / f"payload-{disk_id}-{offset}.bin"
    src.write_bytes(data)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -s {src} {offset} {len(data)}", str(disk_file(server, disk_id))],
                   check=True, capture_output=True)
    src.unlink()


def read_bytes(server, disk_id: str, offset: int, length: int, tmp: Path) -> bytes:
    """The guest-visible bytes of the disk (backing chain included), via a sparse raw copy."""
    raw = tmp / f"read-{disk_id}.raw"
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(disk_file(server, disk_id)), str(raw)],
                   check=True, capture_output=True)
    try:
        with open(raw, "rb") as fh:
            fh.seek(offset)
            return fh.read(length)
    finally:
        raw.unlink()


def same_disk_contents(server, disk_a: str, disk_b: str) -> bool:
    done = subprocess.run(["qemu-img", "compare", "-f", "qcow2", "-F", "qcow2",
                           str(disk_file(server, disk_a)), str(disk_file(server, disk_b))], capture_output=True)
    return done.returncode == 0


def create_image(client, **body) -> str:
    return call(client, "CreateImage", body).ImageId


def create_and_wait(client, timeout: float = 120, **body):
    image_id = create_image(client, **body)
    return wait_image(client, image_id, timeout=timeout)


def error_code(fn, *args, **kwargs) -> str:
    try:
        fn(*args, **kwargs)
    except TencentCloudSDKException as exc:
        return exc.code
    raise AssertionError("the call succeeded")

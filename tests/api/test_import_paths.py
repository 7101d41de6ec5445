"""ImportImage of qcow2 files along each of its paths gives the same disk.

A qcow2 as qemu-img writes it is chunked as it downloads; one whose clusters are out of guest
order (grown by a guest) is downloaded and chunked from its clusters; one with compressed
clusters is converted by qemu-img. Each ends NORMAL with the disk's exact bytes.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest

from .create_image_util import disk_file, disk_ids
from .images_util import import_image, make_raw, new_account, same_disk, wait_image
from .instances_util import call, wait_state


def _qcow2(tmp_path, how: str):
    raw = make_raw(tmp_path / f"{how}.raw", 24, seed=11)
    out = tmp_path / f"{how}.qcow2"
    if how == "streamed":
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(out)], check=True)
    elif how == "compressed":
        subprocess.run(["qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", str(raw), str(out)], check=True)
    else:  # written back to front, as a guest may: the data clusters lie out of guest order
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(out), "24M"], check=True)
        data = raw.read_bytes()
        for offset in range(23, -1, -1):
            piece = tmp_path / "piece"
            piece.write_bytes(data[offset << 20:(offset + 1) << 20])
            subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -s {piece} {offset << 20} 1M", str(out)],
                           check=True, capture_output=True)
    return raw, out


@pytest.mark.parametrize("how", ["streamed", "out-of-order", "compressed"])
def test_qcow2_paths_give_the_same_disk(server, files, tmp_path, how):
    _, client_for = new_account(server, f"paths-{uuid.uuid4().hex[:6]}")
    c = client_for()
    raw, qcow2 = _qcow2(tmp_path, how)
    name = f"{uuid.uuid4().hex[:6]}-{how}.qcow2"
    files.add(name, qcow2)
    image_id = import_image(c, files.url(name), f"paths-{how}")
    assert wait_image(c, image_id).ImageState == "NORMAL"
    ins = call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image_id}).InstanceIdSet[0]
    wait_state(c, [ins], "RUNNING")
    assert same_disk(raw, "raw", disk_file(server, disk_ids(c, ins)[0]), "qcow2")

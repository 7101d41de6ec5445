"""Helpers for image tests: make disk images with known contents, poll image states."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tencentcloud.cvm.v20170312 import models

from tests.helpers import wait_until

from . import sdk

MiB = 1024 * 1024


def make_raw(path: Path, size_mib: int = 24, seed: int = 1) -> Path:
    """A raw disk with random data in a few places and holes elsewhere."""
    import random

    rng = random.Random(seed)
    with open(path, "wb") as fh:
        fh.truncate(size_mib * MiB)
        for offset_mib in (0, 5, 13, size_mib - 1):
            fh.seek(offset_mib * MiB)
            fh.write(rng.randbytes(MiB // 2))
        fh.seek(2 * MiB)
        fh.write(f"localcvm test disk seed={seed}\n".encode())
    return path


def convert(src: Path, dst: Path, fmt: str) -> Path:
    opts = ["-o", "subformat=streamOptimized"] if fmt == "vmdk" else (["-o", "force_size=on"] if fmt == "vpc" else [])
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", fmt, *opts, str(src), str(dst)], check=True)
    return dst


def same_disk(a: Path, fmt_a: str, b: Path, fmt_b: str) -> bool:
    done = subprocess.run(["qemu-img", "compare", "-f", fmt_a, "-F", fmt_b, str(a), str(b)], capture_output=True)
    return done.returncode == 0


def wait_scratch_cleared(srv, timeout: float = 30) -> None:
    """Wait until no job's scratch directory is left in the data dir. A job removes its scratch
    only after it has finished (an image NORMAL, an export's object written), so it may lag the
    result a test polls for; one left behind for good fails here."""
    work = srv.data_dir / "work"
    wait_until(lambda: not work.exists() or not any(work.iterdir()), timeout=timeout, what="job scratch removed")


def import_params(url: str, name: str, **extra) -> dict:
    p = {"ImageUrl": url, "ImageName": name, "OsType": "CentOS", "OsVersion": "7", "Architecture": "x86_64"}
    p.update(extra)
    return p


def describe(client, image_ids=None, filters=None, **kw):
    req = models.DescribeImagesRequest()
    body = dict(kw)
    if image_ids:
        body["ImageIds"] = image_ids
    if filters:
        body["Filters"] = [{"Name": k, "Values": v} for k, v in filters.items()]
    req.from_json_string(json.dumps(body))
    return client.DescribeImages(req)


def image_of(client, image_id):
    got = describe(client, [image_id]).ImageSet
    return got[0] if got else None


def wait_image(client, image_id, states=("NORMAL", "IMPORTFAILED", "CREATEFAILED"), timeout=120):
    def done():
        img = image_of(client, image_id)
        return img if img is not None and img.ImageState in states else None

    return wait_until(done, timeout=timeout, interval=0.2, what=f"image {image_id} to reach {states}")


def import_image(client, url, name, **extra) -> str:
    req = models.ImportImageRequest()
    req.from_json_string(json.dumps(import_params(url, name, **extra)))
    return client.ImportImage(req).ImageId


def new_account(server, name: str):
    """A fresh account on ``server`` and a CVM client for it."""
    created = json.loads(server.cli("accounts", "create", "--name", name, "--json").stdout)
    return created, (lambda region="ap-guangzhou": sdk.cvm(server, region, secret_id=created["SecretId"],
                                                           secret_key=created["SecretKey"]))


def dir_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, names in os.walk(path):
        for n in names:
            try:
                total += os.lstat(os.path.join(root, n)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total

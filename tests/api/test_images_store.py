"""Issue 4, acceptance 2: identical images share chunks; GC frees what nothing references."""

from __future__ import annotations

import json
import uuid

from tencentcloud.cvm.v20170312 import models

from tests.helpers import wait_until

from .images_util import MiB, dir_bytes, import_image, make_raw, new_account, same_disk, wait_image


def test_dedup_and_gc(make_server, files, tmp_path):
    srv = make_server()
    _acct, client_for = new_account(srv, "dedup")
    c = client_for()
    raw = make_raw(tmp_path / "d.raw", 32, seed=11)
    url = files.add(f"{uuid.uuid4().hex[:6]}-d.raw", raw)
    blobs = srv.data_dir / "blobs" / "ap-guangzhou"
    base = dir_bytes(blobs) if blobs.exists() else 0

    one = import_image(c, url, "one")
    assert wait_image(c, one).ImageState == "NORMAL"
    after_one = dir_bytes(blobs)
    data_bytes = 5 * MiB  # 5 of the 32 MiB disk's 1 MiB chunks hold data (see make_raw), the rest are holes
    assert data_bytes * 0.95 <= after_one - base <= data_bytes * 1.1, (after_one - base)

    two = import_image(c, url, "two")
    assert wait_image(c, two).ImageState == "NORMAL"
    after_two = dir_bytes(blobs)
    assert after_two - after_one <= 64 * 1024, f"the second import stored {after_two - after_one} new bytes"

    # deleting one keeps every chunk (the other still uses them)
    req = models.DeleteImagesRequest()
    req.from_json_string(json.dumps({"ImageIds": [one]}))
    c.DeleteImages(req)
    out = srv.cli("images", "gc", "--region", "ap-guangzhou", "--grace", "0").stdout
    assert "removed 0 chunks" in out
    bucket_file = srv.data_dir / "cos" / "check"
    exp = models.ExportImagesRequest()
    exp.from_json_string(json.dumps({"BucketName": "check", "ImageIds": [two]}))
    path = bucket_file / c.ExportImages(exp).CosPaths[0]
    wait_until(path.exists, timeout=60, what="the export")
    assert same_disk(raw, "raw", path, "raw")

    # deleting both and collecting frees the space
    req.from_json_string(json.dumps({"ImageIds": [two]}))
    c.DeleteImages(req)
    out = srv.cli("images", "gc", "--region", "ap-guangzhou", "--grace", "0").stdout
    assert "removed 5 chunks" in out, out
    assert dir_bytes(blobs) - base <= 64 * 1024

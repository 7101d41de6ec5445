"""ImportImage is a durable job: a server killed (SIGKILL) mid-import finishes it after a restart."""

from __future__ import annotations

import signal
import uuid

from tests.helpers import wait_until

from .images_util import image_of, import_image, make_raw, new_account, same_disk, wait_image, wait_scratch_cleared


def test_import_survives_kill_9(make_server, files, tmp_path):
    srv = make_server()
    _acct, client_for = new_account(srv, "crash")
    c = client_for()
    raw = make_raw(tmp_path / "c.raw", 48, seed=5)
    name = f"{uuid.uuid4().hex[:6]}-c.raw"
    files.add(name, raw)
    image_id = import_image(c, files.url(name, "slow"), "crashy")
    # wait until the download is under way, then kill the server without warning
    wait_until(lambda: (image_of(c, image_id).SyncPercent or 0) >= 5, timeout=60, what="import progress")
    srv.stop(signal.SIGKILL)
    srv.start()
    img = wait_image(c, image_id, timeout=120)
    assert img.ImageState == "NORMAL"
    shown = srv.cli("images", "show", image_id).stdout
    assert '"Attempts": 2' in shown  # it was picked up again, not restarted from scratch as a new job
    out = srv.data_dir / "cos" / "crash"
    from tencentcloud.cvm.v20170312 import models
    import json

    req = models.ExportImagesRequest()
    req.from_json_string(json.dumps({"BucketName": "crash", "ImageIds": [image_id]}))
    path = out / c.ExportImages(req).CosPaths[0]
    wait_until(path.exists, timeout=60, what="export")
    assert same_disk(raw, "raw", path, "raw")
    wait_scratch_cleared(srv)

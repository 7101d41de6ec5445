"""Issue 6, acceptance 3: kill -9 at random points during 10 captures.

Every image ends NORMAL (with exactly the instance's disk contents) or
CREATEFAILED; the quota counts all ten; once the images are deleted, GC
brings the chunk store back to what it held before the first capture (no
orphan chunk), and every NORMAL image launched before that (no missing chunk).
"""

from __future__ import annotations

import random
import signal
import time

from tests.helpers import stored_chunks, wait_until

from .create_image_util import MiB, create_image, disk_ids, error_code, launch, same_disk_contents, write_bytes
from .images_util import describe, image_of, new_account, wait_image
from .instances_util import call

ROUNDS = 10


def test_kill_9_during_captures(make_server, tmp_path):
    rng = random.Random(6)
    srv = make_server()
    acct, client_for = new_account(srv, "ci-crash")
    c = client_for()
    sources = launch(c, name="src", count=2)
    baseline = stored_chunks(srv.data_dir, "ap-guangzhou")  # the public image's chunks, materialised by the launch
    for n, ins in enumerate(sources):
        (system,) = disk_ids(c, ins)
        for k in range(48):  # 192 MiB of changes spread over each disk: a capture takes a moment
            write_bytes(srv, system, (k * 37 + n) * 4 * MiB, rng.randbytes(4 * MiB), tmp_path)

    mid_capture = 0
    images: dict[str, str] = {}
    for r in range(ROUNDS):
        src = sources[r % 2]
        image_id = create_image(c, InstanceId=src, ImageName=f"cap{r}")
        images[image_id] = src
        # the kill point: a random moment at once, during the capture, or around its end
        # (a chosen delay, not a synchronisation: any outcome is checked below)
        time.sleep(rng.uniform(0, 0.4))
        if image_of(c, image_id).ImageState == "CREATING":
            mid_capture += 1
        srv.stop(signal.SIGKILL)
        srv.start()
        img = wait_image(c, image_id, timeout=120)
        assert img.ImageState in ("NORMAL", "CREATEFAILED"), img.ImageState
        # the instance is usable again once the image is done
        wait_until(lambda: call(c, "DescribeInstances", {"InstanceIds": [src]}).InstanceSet[0].LatestOperationState
                   in ("SUCCESS", "FAILED"), timeout=60, what="the capture's instance operation to end")
    assert mid_capture >= 2, f"only {mid_capture} of {ROUNDS} kills landed during a capture"

    got = {i.ImageId: i for i in describe(c, filters={"image-type": ["PRIVATE_IMAGE"]}, Limit=100).ImageSet}
    assert set(got) == set(images)
    assert sum(1 for i in got.values() if i.ImageState == "NORMAL") >= ROUNDS // 2
    # the quota counts every image but deleted ones: one more is refused
    assert error_code(create_image, c, InstanceId=sources[0], ImageName="eleventh") == "ImageQuotaLimitExceeded"
    # no missing chunk: every NORMAL image launches with exactly its source's disk
    normal = [i for i in got if got[i].ImageState == "NORMAL"]
    for image_id in normal:
        (clone,) = launch(c, image_id=image_id, name=f"clone-{image_id}")
        assert same_disk_contents(srv, disk_ids(c, images[image_id])[0], disk_ids(c, clone)[0]), image_id
        call(c, "TerminateInstances", {"InstanceIds": [clone]})
    # no orphan chunk: with the images (and their snapshots) gone, GC returns the store to its baseline
    call(c, "DeleteImages", {"ImageIds": list(got), "DeleteBindedSnap": True})
    srv.cli("images", "gc", "--region", "ap-guangzhou", "--grace", "0")
    assert stored_chunks(srv.data_dir, "ap-guangzhou") == baseline
    assert acct["Uin"]

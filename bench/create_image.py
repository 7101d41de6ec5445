#!/usr/bin/env python3
"""CreateImage capture figures, through a real `localcvm serve` and the official SDK.

For a 1 GiB and a 10 GiB image (imported custom images full of distinct data):
launch an instance, write the same 50 MiB (five 10 MiB runs) into its system disk, then time
CreateImage until the image is NORMAL and count the bytes the chunk store
grew by. Target: the two capture times within 20 % of each other (the work
follows the changed data, not the disk size), and new bytes ~ 50 MiB.

Reference, measured in the same run: a full (non-incremental) capture of the
10 GiB disk, i.e. `qemu-img convert` of the whole disk plus chunking it
(what a capture costs when it reads everything).

    python bench/create_image.py [--small-only]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from instances import make_image  # noqa: E402

from localcvm.blobs import write_image  # noqa: E402
from localcvm.blobs.local import LocalChunkStore  # noqa: E402
from localcvm.imaging import qemu_img  # noqa: E402
from tests.api import sdk  # noqa: E402
from tests.api.create_image_util import disk_file, disk_ids, write_bytes  # noqa: E402
from tests.api.images_util import dir_bytes, image_of, import_image, wait_image  # noqa: E402
from tests.api.instances_util import call, wait_state  # noqa: E402
from tests.fileserver import file_server  # noqa: E402
from tests.helpers import Server, wait_until  # noqa: E402

MiB = 1024 * 1024
CHANGED_MIB = 50


def capture_once(c, srv, image_id: str, label: str, tmp: Path) -> tuple[float, int, str]:
    ids = call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image_id,
                                   "InstanceName": label, "SystemDisk": {"DiskSize": 50}}).InstanceIdSet
    wait_state(c, ids, "RUNNING", timeout=600)
    (system,) = disk_ids(c, ids[0])
    # the same 50 MiB of changes for both disks (five 10 MiB runs at the same offsets); different
    # bytes per disk, or the second capture would find every chunk stored already
    rng = random.Random(label)
    for k in range(5):
        write_bytes(srv, system, (k * 397 + 3) * MiB, rng.randbytes(10 * MiB), tmp)
    os.sync()
    store = srv.data_dir / "blobs" / "ap-guangzhou"
    before = dir_bytes(store)
    t0 = time.perf_counter()
    new_id = call(c, "CreateImage", {"InstanceId": ids[0], "ImageName": f"cap-{label}"}).ImageId
    img = wait_until(lambda: (lambda i: i if i.ImageState != "CREATING" else None)(image_of(c, new_id)),
                     timeout=900, interval=0.005, what="the capture")
    elapsed = time.perf_counter() - t0
    assert img.ImageState == "NORMAL", img.ImageState
    return elapsed, dir_bytes(store) - before, system


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small-only", action="store_true", help="1 GiB only (quick)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lc-bench-ci-"))
    srv = Server(data_dir=tmp / "srv", extra_env={"LOCALCVM_REQUEST_LOG": "0"}).start()
    files = tmp / "files"
    files.mkdir()
    try:
        c = sdk.cvm(srv)
        sizes = [1024] if args.small_only else [1024, 10240]
        results = {}
        with file_server(files) as fs:
            for size in sizes:
                make_image(files / f"img{size}.raw", size)
                image_id = import_image(c, fs.url(f"img{size}.raw"), f"base-{size}")
                assert wait_image(c, image_id, timeout=1800).ImageState == "NORMAL"
                (files / f"img{size}.raw").unlink()
                results[size] = capture_once(c, srv, image_id, f"{size}", tmp)
        print(f"CreateImage with {CHANGED_MIB} MiB changed (time to NORMAL; new bytes stored):")
        for size, (t, grown, _disk) in results.items():
            print(f"  {size // 1024:>3} GiB image: {t:6.2f} s; {grown / MiB:6.1f} MiB new "
                  f"({grown / (CHANGED_MIB * MiB) * 100:.0f}% of the change)")
        if len(results) == 2:
            t1, t10 = results[1024][0], results[10240][0]
            print(f"  10 GiB vs 1 GiB: {t10 / t1 * 100 - 100:+.0f}% (target within 20%)")
            # reference: a full capture of the same 10 GiB-image disk
            disk = disk_file(srv, results[10240][2])
            raw = tmp / "full.raw"
            t0 = time.perf_counter()
            qemu_img.convert(disk, "qcow2", raw, "raw")
            write_image(LocalChunkStore(tmp / "scratch"), raw)
            full = time.perf_counter() - t0
            print(f"  reference, full capture of the 10 GiB-image disk (convert + chunk): {full:6.2f} s "
                  f"({full / t10:.0f}x the incremental capture)")
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

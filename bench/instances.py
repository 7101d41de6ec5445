#!/usr/bin/env python3
"""Instance figures on the fake driver, through a real `localcvm serve` and the official SDK.

1. Time to launch 100 instances with one RunInstances (InstanceCount=100) until all are RUNNING.
2. Time of a filtered DescribeInstances over 1,000 instances (median of 20 calls), next to an
   unfiltered one on the same set (the reference).
3. Launch time of one instance from a 100 MiB image vs a 10 GiB image (both imported custom
   images full of data; the target is no dependence on the image size, within 10 %).

    python bench/instances.py [--skip-big]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api import sdk  # noqa: E402
from tests.api.instances_util import call, public_image, wait_state  # noqa: E402
from tests.fileserver import file_server  # noqa: E402
from tests.helpers import Server, wait_until  # noqa: E402

MiB = 1024 * 1024


def make_image(path: Path, size_mib: int) -> None:
    rng = random.Random(size_mib)
    with open(path, "wb") as fh:
        block = rng.randbytes(MiB)
        for i in range(size_mib):
            fh.write(block[i % 7:] + block[: i % 7])  # distinct chunks, cheap to make


def launch(c, image_id: str, count: int = 1) -> float:
    t0 = time.perf_counter()
    ids = call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image_id,
                                   "InstanceCount": count, "SystemDisk": {"DiskSize": 50}}).InstanceIdSet
    wait_state(c, ids, "RUNNING", timeout=600)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-big", action="store_true", help="skip the 10 GiB image")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lc-bench-ins-"))
    srv = Server(data_dir=tmp / "srv", extra_env={"LOCALCVM_REQUEST_LOG": "0"}).start()
    try:
        c = sdk.cvm(srv)
        image = public_image(c)
        t = launch(c, image, 100)
        print(f"launch 100 instances (InstanceCount=100) until RUNNING: {t:.2f} s", flush=True)
        for _ in range(9):
            call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-4"}, "ImageId": image, "InstanceCount": 100,
                                     "InstanceName": "bulk"})
        wait_until(lambda: call(c, "DescribeInstances", {"Filters": [
            {"Name": "instance-state", "Values": ["RUNNING"]}]}).TotalCount == 1000, timeout=900, interval=1,
            what="1000 running instances")

        def timed(body):
            samples = []
            for _ in range(20):
                t0 = time.perf_counter()
                got = call(c, "DescribeInstances", body)
                samples.append(time.perf_counter() - t0)
            return statistics.median(samples), got.TotalCount

        t_f, n_f = timed({"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-3"]}], "Limit": 100})
        t_a, n_a = timed({"Limit": 100})
        print(f"DescribeInstances over 1000 instances, filter zone (→ {n_f}): {t_f * 1000:.1f} ms median; "
              f"unfiltered (→ {n_a}, first 100): {t_a * 1000:.1f} ms", flush=True)

        with file_server(tmp / "files") as files:
            sizes = [100] + ([] if args.skip_big else [10 * 1024])
            results = {}
            for size in sizes:
                path = tmp / f"img-{size}.raw"
                make_image(path, size)
                req = {"ImageUrl": files.add(path.name, path), "ImageName": f"bench-{size}", "OsType": "CentOS",
                       "OsVersion": "7", "Architecture": "x86_64"}
                image_id = call(c, "ImportImage", req).ImageId
                path.unlink()
                wait_until(lambda: call(c, "DescribeImages", {"ImageIds": [image_id]}).ImageSet[0].ImageState == "NORMAL",
                           timeout=1800, interval=1, what="the import")
                os.sync()  # let the import's writeback finish: it would slow every fsync of the launch
                results[size] = [launch(c, image_id) for _ in range(3)]
                print(f"launch from a {size} MiB image: first {results[size][0]:.2f} s, then "
                      f"{results[size][1]:.2f} s, {results[size][2]:.2f} s", flush=True)
            if len(results) == 2:
                a, b = statistics.median(results[100]), statistics.median(results[10 * 1024])
                print(f"10 GiB vs 100 MiB launch (median of 3): {b / a * 100:.0f} % (target within ±10 %)")
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

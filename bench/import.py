#!/usr/bin/env python3
"""ImportImage over HTTP until NORMAL, next to `curl -o` of the same file from the same local HTTP server.

One `localcvm serve` (SQLite, local chunk store) and one local file server; page cache dropped
before each run. A raw image streams into the chunk store as it downloads (no scratch copy);
a qcow2 of the same disk is downloaded, inspected and chunked straight from its clusters (no
raw copy: two writes of the bytes, the download and the chunks); a VMDK (monolithicSparse) and
a VHD (dynamic or fixed) are chunked from where `qemu-img map` shows their data (the same two
writes; a fixed VHD, which has no header, is recognised by a Range GET of its footer first).
The peak size of the server's scratch directory during the raw import is sampled every 10 ms.

    python bench/import.py [--size-mib 2048] [--rounds 2] [--formats raw,qcow2,vmdk,vhd,vhdfixed]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from image_store import drop_caches, make_file  # noqa: E402

MiB = 1024 * 1024
# qemu-img's name and options of each format (vhd: dynamic; vhdfixed: a fixed VHD, raw bytes + a footer)
QEMU = {"qcow2": ("qcow2",), "vmdk": ("vmdk",), "vhd": ("vpc",), "vhdfixed": ("vpc", "-o", "subformat=fixed,force_size=on")}


def scratch_peak(work: Path, done: threading.Event, peak: list[int]) -> None:
    while not done.is_set():
        size = 0
        if work.exists():
            for root, _dirs, names in os.walk(work):
                for n in names:
                    try:
                        size += os.lstat(os.path.join(root, n)).st_blocks * 512
                    except FileNotFoundError:
                        pass
        peak[0] = max(peak[0], size)
        done.wait(0.01)


def main() -> int:
    from tests.api import sdk
    from tests.api.images_util import image_of, import_image
    from tests.api.instances_util import call
    from tests.fileserver import file_server
    from tests.helpers import Server, wait_until

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=2048)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--formats", default="raw,qcow2,vmdk,vhd,vhdfixed",
                    help="which of raw,qcow2,vmdk,vhd,vhdfixed to import")
    args = ap.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    tmp = Path(tempfile.mkdtemp(prefix="lc-bench-import-", dir=os.environ.get("LOCALCVM_BENCH_DIR")))
    try:
        raw = tmp / "disk.raw"
        make_file(raw, args.size_mib, seed=5)
        with file_server(tmp / "files") as files:
            urls = {"raw": files.add("disk.raw", raw)}
            for fmt in formats:
                if fmt != "raw":
                    out = tmp / f"disk.{fmt}"
                    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", *QEMU[fmt], str(raw), str(out)], check=True)
                    urls[fmt] = files.add(out.name, out)
                    out.unlink()
            srv = Server(data_dir=tmp / "srv").start()
            try:
                client = sdk.cvm(srv)
                results: dict[str, list[float]] = {"curl": [], **{f: [] for f in formats}}
                based: dict[str, list[float]] = {f: [] for f in formats}
                peaks = []
                for r in range(args.rounds):
                    drop_caches()
                    t0 = time.perf_counter()
                    subprocess.run(["curl", "-s", "-o", str(tmp / "curl.out"), urls["raw"]], check=True)
                    results["curl"].append(time.perf_counter() - t0)
                    (tmp / "curl.out").unlink()
                    for fmt in formats:
                        drop_caches()
                        done, peak = threading.Event(), [0]
                        watcher = threading.Thread(target=scratch_peak, args=(srv.data_dir / "work", done, peak))
                        watcher.start()
                        t0 = time.perf_counter()
                        image_id = import_image(client, urls[fmt], f"bench-{fmt}-{r}")
                        state = wait_until(lambda: (lambda s: s if s != "IMPORTING" else None)(
                            image_of(client, image_id).ImageState), timeout=900, interval=0.02, what="import")
                        results[fmt].append(time.perf_counter() - t0)
                        done.set()
                        watcher.join()
                        assert state == "NORMAL", state
                        # the launch base is written from the chunks after NORMAL: wait for it, so
                        # that it does not compete with the next measurement (and report it)
                        base = srv.data_dir / "bases" / "ap-guangzhou" / f"{image_id}-0.raw"
                        wait_until(base.exists, timeout=900, interval=0.02, what="the launch base")
                        based[fmt].append(time.perf_counter() - t0)
                        if fmt == "raw":
                            peaks.append(peak[0])
                        call(client, "DeleteImages", {"ImageIds": [image_id]})
                        # every import starts from an empty store: nothing deduplicates against the
                        # previous one (the qcow2 holds the same disk as the raw file)
                        srv.cli("images", "gc", "--grace", "0")
            finally:
                srv.stop()
        med = {k: statistics.median(v) for k, v in results.items()}
        mib = args.size_mib
        print(f"image: {mib} MiB of random data, {args.rounds} rounds, page cache dropped before each run")
        print(f"curl -o (reference)            {mib / med['curl']:7.1f} MiB/s ({med['curl']:.2f} s)  runs {results['curl']}")
        for fmt in formats:
            print(f"ImportImage {fmt:8} until NORMAL  {mib / med[fmt]:7.1f} MiB/s ({med[fmt]:.2f} s) = "
                  f"{med['curl'] / med[fmt] * 100:5.1f} % of curl -o   runs {[round(t, 2) for t in results[fmt]]}")
        for fmt in formats:
            print(f"  {fmt:8} until its launch base is written too: median {statistics.median(based[fmt]):.2f} s  "
                  f"runs {[round(t, 2) for t in based[fmt]]}")
        if peaks:
            print(f"peak scratch space during the raw import: {max(peaks) / MiB:.1f} MiB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

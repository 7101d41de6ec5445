#!/usr/bin/env python3
"""Image store throughput and dedup, next to `cp` of the same bytes in the same run.

1. Store level: chunking a 1 GiB raw image into the local chunk store
   (``write_image``: hash, dedup, atomic fsync'd chunk files) and
   materialising it back (``read_image``: verify every hash, write a file,
   fsync), each next to ``cp`` + ``sync`` of the same file on the same disk.
2. End to end: ``ImportImage`` of the same file over HTTP from 127.0.0.1
   until the image is NORMAL, and ``ExportImages`` (RAW) until the file is
   in the bucket, through a real ``localcvm serve``.
3. Dedup: bytes stored for a second image that differs from the first in
   1 % of its chunks.

    python bench/image_store.py [--size-mib 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.* helpers

from localcvm.blobs import CHUNK_SIZE, read_image, write_image  # noqa: E402
from localcvm.blobs.local import LocalChunkStore  # noqa: E402

MiB = 1024 * 1024


def make_file(path: Path, size_mib: int, seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "wb") as fh:
        for _ in range(size_mib):
            fh.write(rng.randbytes(MiB))
        fh.flush()
        os.fsync(fh.fileno())


def drop_caches() -> None:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        pass  # not root: warm-cache figures, for both sides alike


def one_percent_variant(src: Path, dst: Path) -> tuple[Path, int]:
    """A copy of ``src`` with 4 KiB changed in 1 % of its chunks (at least one); returns (dst, chunks changed)."""
    chunks = src.stat().st_size // CHUNK_SIZE
    changed = max(1, chunks // 100)
    shutil.copyfile(src, dst)
    rng = random.Random(2)
    with open(dst, "r+b") as fh:
        for idx in rng.sample(range(chunks), changed):
            fh.seek(idx * CHUNK_SIZE + 4096)
            fh.write(rng.randbytes(4096))
    return dst, changed


def timed(fn) -> float:
    drop_caches()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def cp(src: Path, dst: Path) -> None:
    subprocess.run(["cp", str(src), str(dst)], check=True)
    subprocess.run(["sync", str(dst)], check=True)


def du(path: Path) -> int:
    return sum(os.lstat(os.path.join(r, n)).st_blocks * 512 for r, _d, ns in os.walk(path) for n in ns)


def store_level(tmp: Path, size_mib: int) -> dict:
    src = tmp / "image.raw"
    make_file(src, size_mib, seed=1)
    size = src.stat().st_size
    t_cp = timed(lambda: cp(src, tmp / "copy.raw"))
    (tmp / "copy.raw").unlink()
    store = LocalChunkStore(tmp / "store")
    manifest = {}
    t_import = timed(lambda: manifest.setdefault("m", write_image(store, src)))
    t_export = timed(lambda: read_image(store, manifest["m"], tmp / "out.raw"))
    assert subprocess.run(["cmp", "-s", str(src), str(tmp / "out.raw")]).returncode == 0
    (tmp / "out.raw").unlink()
    stored_first = du(tmp / "store")

    chunks = size // CHUNK_SIZE
    second, changed = one_percent_variant(src, tmp / "second.raw")
    write_image(store, second)
    extra = du(tmp / "store") - stored_first
    store.close()
    return {"size": size, "cp": t_cp, "import": t_import, "export": t_export,
            "stored_first": stored_first, "extra": extra, "changed_chunks": changed, "chunks": chunks, "src": src}


@contextmanager
def imported_on_server(tmp: Path, src: Path):
    """A real ``localcvm serve`` with ``src`` imported (ImportImage over HTTP from a local file
    server, page cache dropped first); yields (server, client, image_id, seconds to NORMAL)."""
    from tests.api import sdk
    from tests.api.images_util import image_of, import_image
    from tests.fileserver import file_server
    from tests.helpers import Server, wait_until

    with file_server(tmp / "files") as files:
        url = files.add("image.raw", src)
        srv = Server(data_dir=tmp / "srv").start()
        try:
            client = sdk.cvm(srv)
            drop_caches()
            t0 = time.perf_counter()
            image_id = import_image(client, url, "bench")
            state = wait_until(lambda: (lambda s: s if s != "IMPORTING" else None)(image_of(client, image_id).ImageState),
                               timeout=900, interval=0.1, what="import")
            assert state == "NORMAL", state
            yield srv, client, image_id, time.perf_counter() - t0
        finally:
            srv.stop()


def end_to_end(tmp: Path, src: Path) -> dict:
    from tencentcloud.cvm.v20170312 import models

    from tests.helpers import wait_until

    with imported_on_server(tmp, src) as (srv, client, image_id, t_import):
        exp = models.ExportImagesRequest()
        exp.from_json_string(json.dumps({"BucketName": "bench", "ImageIds": [image_id]}))
        drop_caches()
        t0 = time.perf_counter()
        out = srv.data_dir / "cos" / "bench" / client.ExportImages(exp).CosPaths[0]
        wait_until(out.exists, timeout=600, interval=0.1, what="export")
        t_export = time.perf_counter() - t0
    return {"import": t_import, "export": t_export}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--skip-e2e", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lc-bench-store-", dir=os.environ.get("LOCALCVM_BENCH_DIR")))
    try:
        r = store_level(tmp, args.size_mib)
        mib = r["size"] / MiB
        rate = lambda t: mib / t  # noqa: E731
        print(f"image: {mib:.0f} MiB of random data ({r['chunks']} chunks of {CHUNK_SIZE // MiB} MiB)")
        print(f"cp + sync (reference)      {rate(r['cp']):8.1f} MiB/s  ({r['cp']:.2f} s)")
        print(f"store import (write_image) {rate(r['import']):8.1f} MiB/s  ({r['import']:.2f} s)  = {r['cp'] / r['import'] * 100:5.1f} % of cp")
        print(f"store export (read_image)  {rate(r['export']):8.1f} MiB/s  ({r['export']:.2f} s)  = {r['cp'] / r['export'] * 100:5.1f} % of cp")
        print(f"second image, {r['changed_chunks']} of {r['chunks']} chunks changed: {r['extra'] / MiB:.1f} MiB new "
              f"= {r['extra'] / r['stored_first'] * 100:.2f} % of the first image's {r['stored_first'] / MiB:.0f} MiB")
        if not args.skip_e2e:
            e = end_to_end(tmp, r["src"])
            print(f"API ImportImage over HTTP  {rate(e['import']):8.1f} MiB/s  ({e['import']:.2f} s)  = {r['cp'] / e['import'] * 100:5.1f} % of cp")
            print(f"API ExportImages (RAW)     {rate(e['export']):8.1f} MiB/s  ({e['export']:.2f} s)  = {r['cp'] / e['export'] * 100:5.1f} % of cp")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

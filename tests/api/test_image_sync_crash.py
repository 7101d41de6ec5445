"""SyncImages copies are durable jobs: kill -9 the server at random points during 5 concurrent copies,
10 times; every copy resumes where it was and ends NORMAL with the right bytes."""

from __future__ import annotations

import random
import signal

import pytest
from collections import defaultdict

from localcvm.blobs import CHUNK_SIZE, LocalChunkStore
from tests.helpers import stored_chunks, wait_until

from .images_util import image_of, wait_scratch_cleared
from .instances_util import call
from .share_util import accounts, client, custom_image, sync

REGIONS = ["ap-shanghai", "ap-nanjing", "ap-beijing", "ap-chengdu", "ap-chongqing"]
CHUNK = CHUNK_SIZE
CHUNKS = 40 * 1024 * 1024 // CHUNK_SIZE  # the 40 MiB dense source image


@pytest.mark.parametrize("zero_copy", ["0", "1"], ids=["bytes", "links"])
def test_copies_survive_kill_9_at_random_points(make_server, files, tmp_path, zero_copy):
    """Both copy paths: bytes (stores on different file systems, or LOCALCVM_ZERO_COPY=0) and hard
    links (every region under one data dir, the default)."""
    trace = tmp_path / "trace.log"
    # copies take 9-27 s (paced chunk by chunk), 6 worker threads: all 5 copies run at once
    srv = make_server(extra_env={"LOCALCVM_TIME_SCALE": "0.015", "LOCALCVM_WORKERS": "6",
                                 "LOCALCVM_SYNC_TRACE": str(trace), "LOCALCVM_ZERO_COPY": zero_copy})
    (a,) = accounts(srv, 1, "crashsync")
    ca = client(srv, a)
    source = custom_image(ca, files, tmp_path, "crash-src", size_mib=40, seed=11, dense=True)
    copies = sync(ca, source, REGIONS)
    rng = random.Random(20240607)
    for _ in range(10):
        wait_until(lambda: trace.exists(), timeout=30, what="the first chunk copy")
        pause = rng.uniform(0.2, 1.2)
        try:  # not synchronisation: the kill point itself is what is random
            wait_until(lambda: False, timeout=pause, interval=0.05, what="a random kill point")
        except TimeoutError:
            pass
        srv.stop(signal.SIGKILL)
        srv.start()

    for region, copy_id in copies.items():
        c = client(srv, a, region)
        img = wait_until(lambda: (lambda i: i if i and i.ImageState != "SYNCING" else None)(image_of(c, copy_id)),
                         timeout=120, interval=0.2, what=f"{copy_id} to finish")
        assert img.ImageState == "NORMAL", (region, img.ImageState)

    if zero_copy == "1":
        assert trace.read_text() == ""  # no chunk went through the byte path: all linked
    else:
        check_rewrites(trace)
    check_bytes(srv, a, copies)


def check_rewrites(trace) -> None:
    # re-copied chunks: a chunk written in attempt k of a job and again later was in flight at a kill;
    # with one write in flight per copy that is at most one chunk per copy and restart
    written: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for line in trace.read_text().splitlines():
        job, attempt, digest = line.split()
        written[job][int(attempt)].add(digest)
    assert len(written) == len(REGIONS)
    resumed = 0
    for job, attempts in written.items():
        order = sorted(attempts)
        resumed += len(order) > 1
        for i, k in enumerate(order):
            later = set().union(*(attempts[j] for j in order[i + 1:])) if i + 1 < len(order) else set()
            assert len(attempts[k] & later) <= 1, (job, k, attempts[k] & later)
        total = set().union(*attempts.values())
        assert len(total) == CHUNKS
    assert resumed >= 2, "the kills should have interrupted copies in flight"


def check_bytes(srv, a, copies) -> None:

    # the right bytes: each region holds exactly the source's chunks, each verified against its hash
    src = stored_chunks(srv.data_dir, "ap-guangzhou")
    assert len(src) == CHUNKS
    srv.cli("images", "gc", "--grace", "0")
    for region in REGIONS:
        assert stored_chunks(srv.data_dir, region) == src, region  # no orphan chunks, none missing
        store = LocalChunkStore(srv.data_dir / "blobs" / region)
        for digest in src:
            assert len(store.get(digest)) == CHUNK  # get() verifies the SHA-256
        store.close()
    # and end to end: an export of one copy is byte-identical to the file imported in Guangzhou
    (srv.data_dir / "cos" / "crashcopy").mkdir(parents=True, exist_ok=True)
    c = client(srv, a, "ap-chongqing")
    path = srv.data_dir / "cos" / "crashcopy" / call(c, "ExportImages", {
        "BucketName": "crashcopy", "ImageIds": [copies["ap-chongqing"]]}).CosPaths[0]
    wait_until(path.exists, timeout=60, what="the export")
    raw = random.Random(11)
    expected = b"".join(raw.randbytes(1024 * 1024) for _ in range(40))
    assert path.read_bytes() == expected
    wait_scratch_cleared(srv)

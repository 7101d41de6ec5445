"""The ImportImage job: download → inspect (untrusted!) → convert to raw → chunk → NORMAL.

Each step is idempotent and checkpointed, so a job whose worker died is
picked up again and finishes. Progress is reported as the image's
``SyncPercent`` while it is IMPORTING.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from ..blobs.chunks import write_image
from ..imaging import qemu_img
from ..imaging.inspect import UnsafeImage, inspect_image
from ..jobs.queue import JobHandle
from ..store.repo import Repo
from . import errors

GIB = 1024**3
MAX_REDIRECTS = 5


class ImportFailed(errors.ApiError):
    code = "FailedOperation"


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def download(url: str, dest: str, max_bytes: int, progress) -> int:
    """Stream ``url`` to ``dest``; redirects are followed only within the same origin."""
    tmp = dest + ".part"
    with httpx.Client(follow_redirects=False, timeout=httpx.Timeout(30.0, read=120.0)) as client:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            with client.stream("GET", current) as resp:
                if resp.is_redirect:
                    target = urljoin(current, resp.headers.get("location", ""))
                    if not _same_origin(url, target):
                        raise ImportFailed(f"The image URL redirects to another host ({urlsplit(target).hostname}); refused.")
                    current = target
                    continue
                if resp.status_code != 200:
                    raise ImportFailed(f"Downloading the image failed: HTTP {resp.status_code} from {urlsplit(url).hostname}.")
                declared = resp.headers.get("content-length")
                expected = int(declared) if declared and declared.isdigit() else None
                if expected is not None and expected > max_bytes:
                    raise ImportFailed(f"The image file is {expected} bytes; the limit is {max_bytes}.")
                got = 0
                with open(tmp, "wb") as fh:
                    for chunk in resp.iter_bytes(1024 * 1024):
                        got += len(chunk)
                        if got > max_bytes:
                            raise ImportFailed(f"The image file exceeds the limit of {max_bytes} bytes.")
                        fh.write(chunk)
                        if expected:
                            progress(got / expected)
                    fh.flush()
                    os.fsync(fh.fileno())
                if expected is not None and got != expected:
                    raise ImportFailed(f"The download was truncated: got {got} of {expected} bytes.")
                if got == 0:
                    raise ImportFailed("The image file is empty.")
                os.replace(tmp, dest)
                return got
        raise ImportFailed(f"The image URL redirects more than {MAX_REDIRECTS} times.")


def run_import(svc, handle: JobHandle) -> None:
    image_id = handle.view.resource_id
    region = handle.payload["region"]
    work = svc.blobs.work_dir(handle.view.job_id)
    src = str(work / "download")
    raw = str(work / "disk.raw")
    state = dict(handle.checkpoint)

    def report(percent: float, **checkpoint) -> None:
        pct = int(max(0, min(99, percent)))
        state.update(checkpoint)

        def apply(repo: Repo):
            row = repo.get_image(image_id)
            if row is None:
                raise ImportFailed("The image was deleted while it was being imported.")
            row.sync_percent = pct

        handle.progress(pct, state if checkpoint else None, apply)

    try:
        report(state.get("pct", 0))
        if not (state.get("converted") and os.path.exists(raw)):
            if not (state.get("downloaded") and os.path.exists(src)):
                download(handle.payload["url"], src, svc.settings.max_import_bytes, lambda f: report(f * 40))
                report(40, downloaded=True, pct=40)
            # The file is untrusted: inspect its header in Python before qemu-img reads it.
            try:
                found = inspect_image(src, max_virtual_size=svc.settings.max_image_virtual_gib * GIB)
            except UnsafeImage as exc:
                raise ImportFailed(f"The image was rejected: {exc}") from None
            if found.format == "raw":
                os.replace(src, raw)
            else:
                qemu_img.convert(src, found.format, raw, "raw", lambda pct: report(40 + pct * 0.3))
                os.unlink(src)
            report(70, converted=True, pct=70, format=found.format)
        manifest = write_image(svc.blobs.store(region), raw, facts={"source_format": state.get("format", "raw")},
                               progress=lambda done, total: report(70 + 29 * done / max(total, 1)))
        # The converted file becomes the read-only base that instance disks are overlays of
        # (a rename), so launching from the image never depends on its size.
        svc.volumes.adopt_base(region, f"{image_id}-0", Path(raw))
        # Drop the scratch copy before the image turns NORMAL, so a launch right after never
        # competes with deleting it (a crash from here on just redoes the import).
        shutil.rmtree(work, ignore_errors=True)
    except qemu_img.QemuImgError as exc:
        raise ImportFailed(f"The image could not be converted: {exc}") from None
    except httpx.HTTPError as exc:
        raise ImportFailed(f"Downloading the image failed: {type(exc).__name__}: {exc}") from None

    def finish(repo: Repo):
        row = repo.get_image(image_id)
        if row is None:
            raise ImportFailed("The image was deleted while it was being imported.")
        disk = repo.image_disks(image_id)[0]
        disk.manifest = manifest.to_json()
        disk.virtual_size = manifest.virtual_size
        row.size_gib = max(1, math.ceil(manifest.virtual_size / GIB))
        row.state = "NORMAL"
        row.sync_percent = None

    handle.finish(True, "", finish)
    shutil.rmtree(work, ignore_errors=True)

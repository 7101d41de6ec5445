"""`localcvm images show|gc|build-public`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .common import DataDirOpt, DbOpt, fail, services, sub_app

images_app = sub_app("Inspect images and maintain the chunk store.")


@images_app.command("show")
def images_show(
    image_id: str = typer.Argument(..., help="The image ID (img-xxxxxxxx)."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """Show an image as the operator sees it: state, owner, disks, and why it failed if it did."""
    from ..api.images import operator_dict

    svc = services(data_dir, database_url)
    report = svc.images.operator_view(image_id)
    svc.close()
    if report is None:
        fail(f"no custom image {image_id}")
    typer.echo(json.dumps(operator_dict(report), indent=2, ensure_ascii=False))


@images_app.command("gc")
def images_gc(
    region: Optional[list[str]] = typer.Option(None, "--region", help="Region(s) to collect (default: all)."),
    grace: float = typer.Option(3600.0, "--grace", help="Spare chunks written or reused in the last SECONDS (they may belong to an image still being written); 0 only when no import or copy is running."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """Delete chunks that no image references any more (safe while the server runs)."""
    svc = services(data_dir, database_url)
    total_chunks = total_bytes = 0
    for r in region or [x.region for x in svc.regions.all()]:
        chunks, freed = svc.images.gc(r, grace_seconds=grace)
        total_chunks += chunks
        total_bytes += freed
        if chunks:
            typer.echo(f"{r}: removed {chunks} chunks, {freed} bytes")
    svc.close()
    typer.echo(f"removed {total_chunks} chunks, {total_bytes} bytes")


@images_app.command("build-public")
def images_build_public(
    data_dir: Optional[Path] = DataDirOpt,
    force: bool = typer.Option(False, "--force", help="Build again even when the cached disk is there."),
):
    """Build the small bootable Linux disk behind the public images (cached in <data-dir>/guest, or
    LOCALCVM_GUEST_CACHE) from Debian packages: the Debian kernel, busybox, dropbear."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..config import Settings
    from ..imaging.guest import GuestBuildError, build_public_disk, describe_public_disk

    cache = Settings.load(data_dir=data_dir).guest_cache_dir
    with Progress(TextColumn("{task.description:<20}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), transient=False) as bar:
        task = bar.add_task("building", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        try:
            path = build_public_disk(cache, progress=progress, force=force)
        except GuestBuildError as exc:
            fail(str(exc))
        if bar.tasks[0].total is None:  # already cached: nothing was reported
            bar.update(task, description="cached", completed=1, total=1)
    facts = describe_public_disk(cache) or {}
    typer.echo(f"{path} ({facts.get('size', 0) // (1024 * 1024)} MiB, kernel {facts.get('kernel_version', '?')}, built {facts.get('built_at', '?')})")

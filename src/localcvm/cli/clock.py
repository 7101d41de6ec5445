"""`localcvm clock`: read or move the test clock of a data dir (see localcvm.clock)."""

from __future__ import annotations

import json
from typing import Optional
from pathlib import Path

import typer

from ..clock import Clock, parse_duration
from .common import AsJsonOpt, DataDirOpt, client_settings, fail

clock_app = typer.Typer(help="The test clock: what time billing and schedules read (servers started with --test-clock).",
                        no_args_is_help=True)


def _show(clock: Clock, as_json: bool) -> None:
    now, offset = clock.now(), clock.offset()
    if as_json:
        typer.echo(json.dumps({"Now": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "OffsetSeconds": offset}))
    else:
        typer.echo(f"{now:%Y-%m-%d %H:%M:%S} UTC ({offset:g} s ahead of the system clock)")


@clock_app.command("show")
def show(data_dir: Optional[Path] = DataDirOpt, as_json: bool = AsJsonOpt):
    """Print the data dir's clock (the system's UTC time plus what it was advanced by)."""
    _show(Clock(client_settings(data_dir, None).data_dir, movable=True), as_json)


@clock_app.command("advance")
def advance(
    duration: str = typer.Argument(..., help="How far: 90s, 15m, 3h, 2d, 1w (or seconds)."),
    data_dir: Optional[Path] = DataDirOpt,
    as_json: bool = AsJsonOpt,
):
    """Move the data dir's clock forward; a server on it started with --test-clock reads the new time at once."""
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        fail(str(exc))
    clock = Clock(client_settings(data_dir, None).data_dir, movable=True)
    clock.advance(seconds)
    _show(clock, as_json)

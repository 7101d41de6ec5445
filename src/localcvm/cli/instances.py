"""`localcvm instances`: operator views of instances on this data dir (the serial console)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import DataDirOpt, client_settings, fail

instances_app = typer.Typer(help="Instances on this data dir, as the operator sees them.", no_args_is_help=True)


@instances_app.command("console")
def console(
    instance_id: str = typer.Argument(..., help="The instance (ins-...)."),
    data_dir: Optional[Path] = DataDirOpt,
    tail: int = typer.Option(0, "--tail", help="Print only the last N lines (0: all)."),
):
    """Print the instance's serial console log (kept across boots; gone with the instance)."""
    from ..services.compute import console_text

    text = console_text(client_settings(data_dir, None), instance_id)
    if text is None:
        fail(f"no console log for {instance_id} on this data dir")
    lines = text.splitlines()
    typer.echo("\n".join(lines[-tail:] if tail > 0 else lines))

"""`localcvm network check`: would an instance's security groups let a new connection in."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import DataDirOpt, DbOpt, services, sub_app

network_app = sub_app("Inspect networks and security groups.")


@network_app.command("check")
def network_check(
    instance_id: str = typer.Argument(..., help="The instance ID (ins-xxxxxxxx)."),
    source_ip: str = typer.Argument(..., help="The client's address (a 127.x.y.z address stands for its own network)."),
    protocol: str = typer.Argument(..., help="TCP, UDP or ICMP."),
    port: int = typer.Argument(..., help="The instance's port (0 for ICMP)."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """Print `allowed` or `denied` and the rule that decided; exit 0 when allowed, 1 when denied."""
    svc = services(data_dir, database_url)
    d = svc.network.explain(instance_id, source_ip, protocol, port)
    svc.close()
    verdict = "allowed" if d.allowed else "denied"
    if d.rule is None:
        typer.echo(f"{verdict}: {d.reason}")
    else:
        r = d.rule
        source = r.cidr or r.ipv6_cidr or r.ref_sg_id
        typer.echo(f"{verdict}: {d.sg_id} ingress rule {r.index}: {r.action} {r.protocol} {r.port} from {source}"
                   + (f" ({r.description})" if r.description else ""))
    raise typer.Exit(0 if d.allowed else 1)

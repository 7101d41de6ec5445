"""The ``localcvm`` command: one module per command group.

``serve.py`` (serve, worker), ``accounts.py`` (accounts, accounts keys), ``images.py`` (images
show/gc), ``network.py`` (network check), ``billing.py`` (billing report), ``instances.py`` (instances console), ``tools.py`` (doctor, tccli, reset, version, hosts); ``common.py`` holds what they share.
"""

from __future__ import annotations

from typing import Optional

import typer

from .. import __version__
from . import cam  # noqa: F401 (registers accounts users|groups|policies)
from .accounts import accounts_app
from .billing import billing_app
from .clock import clock_app
from .images import images_app
from .network import network_app
from .instances import instances_app
from .serve import serve, worker
from .tools import TCCLI_HELP, doctor, hosts, reset, tccli, version

app = typer.Typer(
    help="localcvm: a self-hosted Tencent Cloud CVM-style compute and image service (API 3.0).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # help texts are plain: "[env X; default Y]" must print, not be taken for markup
)


def print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit(0)


@app.callback()
def root(
    show_version: Optional[bool] = typer.Option(None, "--version", callback=print_version, is_eager=True,
                                                help="Print the version and exit."),
) -> None:
    """localcvm: a self-hosted Tencent Cloud CVM-style compute and image service (API 3.0)."""


app.command()(serve)
app.command()(worker)
app.add_typer(accounts_app, name="accounts")
app.add_typer(images_app, name="images")
app.add_typer(instances_app, name="instances")
app.add_typer(clock_app, name="clock")
app.add_typer(network_app, name="network")
app.add_typer(billing_app, name="billing")
app.command()(doctor)
app.command(
    help=TCCLI_HELP,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
)(tccli)
app.command()(reset)
app.command()(version)
app.command()(hosts)


def main() -> None:  # console-script entry point
    app()


__all__ = ["app", "main"]

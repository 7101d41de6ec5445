"""`localcvm accounts ...` and `localcvm accounts keys ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..api.render import iso_time
from .common import AsJsonOpt, DataDirOpt, DbOpt, fail, services, sub_app

accounts_app = sub_app("Manage accounts (root accounts with API key pairs).")
keys_app = sub_app("Manage API keys (a key is named by its SecretId). A change applies from the next request on, "
                   "in every server and worker on the same database.")
accounts_app.add_typer(keys_app, name="keys")
SecretIdArg = typer.Argument(..., help="The key's SecretId (AKID...).")


@accounts_app.command("create")
def accounts_create(
    name: str = typer.Option(..., "--name", help="Account name (unique)."),
    as_json: bool = AsJsonOpt,
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """Create an account and print its Uin, SecretId and SecretKey."""
    from ..services import errors

    svc = services(data_dir, database_url)
    try:
        creds = svc.accounts.create_account(name)
    except errors.ApiError as exc:
        fail(exc.message)
    finally:
        svc.close()
    if as_json:
        typer.echo(json.dumps({"Uin": creds.uin, "AppId": creds.app_id, "Name": creds.name,
                               "SecretId": creds.secret_id, "SecretKey": creds.secret_key}))
    else:
        typer.echo(f"Uin:       {creds.uin}\nAppId:     {creds.app_id}\nName:      {creds.name}\n"
                   f"SecretId:  {creds.secret_id}\nSecretKey: {creds.secret_key}")


def account_json(view) -> dict:
    return {"Uin": view.uin, "AppId": view.app_id, "Name": view.name, "SecretIds": list(view.secret_ids),
            "CreatedTime": iso_time(view.created_at) if view.created_at else None,
            "CrossBorder": view.cross_border}


@accounts_app.command("list")
def accounts_list(
    as_json: bool = AsJsonOpt,
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """List accounts (never prints secret keys)."""
    svc = services(data_dir, database_url)
    accounts = [account_json(a) for a in svc.accounts.list_accounts()]
    svc.close()
    if as_json:
        typer.echo(json.dumps(accounts))
        return
    typer.echo(f"{'UIN':<14}{'APPID':<12}{'NAME':<20}SECRET IDS")
    for a in accounts:
        typer.echo(f"{a['Uin']:<14}{a['AppId']:<12}{a['Name']:<20}{', '.join(a['SecretIds'])}")


@accounts_app.command("allow-cross-border")
def accounts_allow_cross_border(
    uin: str = typer.Argument(..., help="The account's Uin."),
    revoke: bool = typer.Option(False, "--revoke", help="Withdraw the permission instead."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """Allow an account to copy images (SyncImages) between mainland China and other regions.

    Without it such a copy is refused with UnsupportedOperation.Region, as the real service
    refuses cross-border copies to accounts that have not been approved for them.
    """
    svc = services(data_dir, database_url)
    found = svc.accounts.set_cross_border(uin, not revoke)
    svc.close()
    if not found:
        fail(f"no account with Uin {uin}")
    typer.echo(f"{uin}: cross-border image copies {'revoked' if revoke else 'allowed'}")


@accounts_app.command("password")
def accounts_password(
    name: str = typer.Argument(..., help="The account's name or Uin."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """Set a root account's web console password (8 to 128 characters; signs its sessions out)."""
    import sys

    from ..services import errors

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Console password", hide_input=True, confirmation_prompt=True)
    svc = services(data_dir, database_url)
    try:
        uin = svc.accounts.set_console_password(name, password)
    except errors.ApiError as exc:
        fail(exc.message)
    finally:
        svc.close()
    typer.echo(f"{uin}: console password set")


def key_json(key) -> dict:
    return {"SecretId": key.secret_id, "Uin": key.uin, "Status": "Enabled" if key.enabled else "Disabled",
            "CreatedTime": iso_time(key.created_at) if key.created_at else None}


@keys_app.command("list")
def keys_list(
    uin: Optional[str] = typer.Option(None, "--uin", help="Only this account's keys."),
    as_json: bool = AsJsonOpt,
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """List API keys with their account and status (never prints secret keys)."""
    svc = services(data_dir, database_url)
    keys = [key_json(k) for k in svc.accounts.list_keys(uin)]
    svc.close()
    if as_json:
        typer.echo(json.dumps(keys))
        return
    typer.echo(f"{'SECRET ID':<40}{'UIN':<14}{'STATUS':<10}CREATED")
    for k in keys:
        typer.echo(f"{k['SecretId']:<40}{k['Uin']:<14}{k['Status']:<10}{k['CreatedTime'] or ''}")


@keys_app.command("create")
def keys_create(
    uin: str = typer.Option(..., "--uin", help="The account that gets the new key."),
    as_json: bool = AsJsonOpt,
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """Create a new key pair for an account and print it (the SecretKey is shown only here)."""
    svc = services(data_dir, database_url)
    creds = svc.accounts.create_key(uin)
    svc.close()
    if creds is None:
        fail(f"no account with Uin {uin}")
    if as_json:
        typer.echo(json.dumps({"Uin": creds.uin, "SecretId": creds.secret_id, "SecretKey": creds.secret_key}))
    else:
        typer.echo(f"Uin:       {creds.uin}\nSecretId:  {creds.secret_id}\nSecretKey: {creds.secret_key}")


def set_key(secret_id: str, enabled: bool, data_dir: Optional[Path], database_url: Optional[str]) -> None:
    svc = services(data_dir, database_url)
    key = svc.accounts.set_key_enabled(secret_id, enabled)
    svc.close()
    if key is None:
        fail(f"no API key with SecretId {secret_id}")
    typer.echo(f"{secret_id}: {'enabled' if enabled else 'disabled'}")


@keys_app.command("disable")
def keys_disable(secret_id: str = SecretIdArg, data_dir: Optional[Path] = DataDirOpt,
                 database_url: Optional[str] = DbOpt):
    """Disable a key: requests signed with it get AuthFailure.SecretIdNotFound from now on."""
    set_key(secret_id, False, data_dir, database_url)


@keys_app.command("enable")
def keys_enable(secret_id: str = SecretIdArg, data_dir: Optional[Path] = DataDirOpt,
                database_url: Optional[str] = DbOpt):
    """Enable a disabled key again."""
    set_key(secret_id, True, data_dir, database_url)


@keys_app.command("delete")
def keys_delete(secret_id: str = SecretIdArg, data_dir: Optional[Path] = DataDirOpt,
                database_url: Optional[str] = DbOpt):
    """Delete a key for good."""
    svc = services(data_dir, database_url)
    found = svc.accounts.delete_key(secret_id)
    svc.close()
    if not found:
        fail(f"no API key with SecretId {secret_id}")
    typer.echo(f"{secret_id}: deleted")

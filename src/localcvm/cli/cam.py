"""`localcvm accounts users|groups|policies ...`: CAM for operators (the same services as the cam API)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Optional

import typer

from .accounts import accounts_app
from .common import AsJsonOpt, DataDirOpt, DbOpt, fail, services, sub_app

users_app = sub_app("Manage CAM sub-users of an account (default: the root account).")
groups_app = sub_app("Manage CAM user groups.")
policies_app = sub_app("Manage CAM policies (custom ones; preset ones are listed too).")
accounts_app.add_typer(users_app, name="users")
accounts_app.add_typer(groups_app, name="groups")
accounts_app.add_typer(policies_app, name="policies")
AccountOpt = typer.Option(None, "--account", help="The owner account's Uin (default: the data dir's root account).")


@contextlib.contextmanager
def owner_of(account: Optional[str], data_dir: Optional[Path], database_url: Optional[str]):
    """(services, owner Identity); an API error becomes a clear message and exit code 2."""
    from ..services import errors
    from ..services.iam import Identity

    svc = services(data_dir, database_url)
    try:
        accounts = svc.accounts.list_accounts()
        found = [a for a in accounts if a.uin == account] if account else accounts[:1]
        if not found:
            fail(f"no account {account or '(none yet)'}")
        yield svc, Identity(found[0].uin, found[0].app_id, found[0].name, "")
    except errors.ApiError as exc:
        fail(f"{exc.code}: {exc.message}")
    finally:
        svc.close()


def _out(rows: list[dict], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows))
    else:
        for row in rows:
            typer.echo("  ".join(f"{k}={v}" for k, v in row.items()))


def _policy_id(svc, owner, policy: str) -> int:
    if policy.isdigit():
        return int(policy)
    found = [p for p in svc.cam.policies.list(owner, "All", None) if p.name == policy]
    if not found:
        fail(f"no policy named {policy}")
    return found[0].policy_id


@users_app.command("list")
def users_list(account: Optional[str] = AccountOpt, as_json: bool = AsJsonOpt, data_dir: Optional[Path] = DataDirOpt,
               database_url: Optional[str] = DbOpt):
    """List sub-users."""
    with owner_of(account, data_dir, database_url) as (svc, owner):
        _out([{"Uin": u.uin, "Uid": u.uid, "Name": u.name, "ConsoleLogin": int(u.console_login)}
              for u in svc.cam.users.list(owner)], as_json)


@users_app.command("create")
def users_create(name: str = typer.Argument(..., help="Sub-user name."),
                 api_key: bool = typer.Option(False, "--api-key", help="Also create an API key pair (printed once)."),
                 password: Optional[str] = typer.Option(None, "--console-password", help="Allow console login with it."),
                 account: Optional[str] = AccountOpt, data_dir: Optional[Path] = DataDirOpt,
                 database_url: Optional[str] = DbOpt):
    """Create a sub-user; prints its Uin (and SecretId/SecretKey with --api-key) as JSON."""
    with owner_of(account, data_dir, database_url) as (svc, owner):
        made = svc.cam.users.add(owner, name, use_api=api_key, console_login=bool(password), password=password)
    typer.echo(json.dumps({"Uin": made.user.uin, "Name": made.user.name, "SecretId": made.secret_id,
                           "SecretKey": made.secret_key}))


@users_app.command("delete")
def users_delete(name: str = typer.Argument(...), force: bool = typer.Option(False, "--force", help="Delete its keys too."),
                 account: Optional[str] = AccountOpt, data_dir: Optional[Path] = DataDirOpt,
                 database_url: Optional[str] = DbOpt):
    """Delete a sub-user (its keys stop working at once)."""
    with owner_of(account, data_dir, database_url) as (svc, owner):
        svc.cam.users.delete(owner, name, force)


@users_app.command("attach")
def users_attach(name: str = typer.Argument(...), policy: str = typer.Argument(..., help="Policy id or name."),
                 detach: bool = typer.Option(False, "--detach"), account: Optional[str] = AccountOpt,
                 data_dir: Optional[Path] = DataDirOpt, database_url: Optional[str] = DbOpt):
    """Attach (or --detach) a policy to a sub-user."""
    with owner_of(account, data_dir, database_url) as (svc, owner):
        user = svc.cam.users.get(owner, name)
        svc.cam.policies.attach(owner, _policy_id(svc, owner, policy), "user", user.uin, attach=not detach)


@groups_app.command("list")
def groups_list(account: Optional[str] = AccountOpt, as_json: bool = AsJsonOpt, data_dir: Optional[Path] = DataDirOpt,
                database_url: Optional[str] = DbOpt):
    """List groups."""
    with owner_of(account, data_dir, database_url) as (svc, owner):
        _out([{"GroupId": g.group_id, "GroupName": g.name} for g in svc.cam.groups.list(owner)], as_json)


@groups_app.command("create")
def groups_create(name: str = typer.Argument(...), account: Optional[str] = AccountOpt,
                  data_dir: Optional[Path] = DataDirOpt, database_url: Optional[str] = DbOpt):
    """Create a group; prints its GroupId."""
    with owner_of(account, data_dir, database_url) as (svc, owner):
        typer.echo(svc.cam.groups.create(owner, name))


@groups_app.command("delete")
def groups_delete(group_id: int = typer.Argument(...), account: Optional[str] = AccountOpt,
                  data_dir: Optional[Path] = DataDirOpt, database_url: Optional[str] = DbOpt):
    """Delete a group (its members lose its policies at once)."""
    with owner_of(account, data_dir, database_url) as (svc, owner):
        svc.cam.groups.delete(owner, group_id)


@groups_app.command("add-user")
def groups_add_user(group_id: int = typer.Argument(...), user: str = typer.Argument(..., help="Sub-user name."),
                    remove: bool = typer.Option(False, "--remove"), account: Optional[str] = AccountOpt,
                    data_dir: Optional[Path] = DataDirOpt, database_url: Optional[str] = DbOpt):
    """Add (or --remove) a sub-user to a group."""
    with owner_of(account, data_dir, database_url) as (svc, owner):
        entry = [{"GroupId": group_id, "Uin": svc.cam.users.get(owner, user).uin}]
        (svc.cam.groups.remove_members if remove else svc.cam.groups.add_members)(owner, entry)


@groups_app.command("attach")
def groups_attach(group_id: int = typer.Argument(...), policy: str = typer.Argument(..., help="Policy id or name."),
                  detach: bool = typer.Option(False, "--detach"), account: Optional[str] = AccountOpt,
                  data_dir: Optional[Path] = DataDirOpt, database_url: Optional[str] = DbOpt):
    """Attach (or --detach) a policy to a group."""
    with owner_of(account, data_dir, database_url) as (svc, owner):
        svc.cam.policies.attach(owner, _policy_id(svc, owner, policy), "group", str(group_id), attach=not detach)


@policies_app.command("list")
def policies_list(account: Optional[str] = AccountOpt, as_json: bool = AsJsonOpt, data_dir: Optional[Path] = DataDirOpt,
                  database_url: Optional[str] = DbOpt):
    """List preset (Type 2) and custom (Type 1) policies."""
    with owner_of(account, data_dir, database_url) as (svc, owner):
        _out([{"PolicyId": p.policy_id, "PolicyName": p.name, "Type": p.type}
              for p in svc.cam.policies.list(owner, "All", None)], as_json)


@policies_app.command("create")
def policies_create(name: str = typer.Argument(...),
                    document: str = typer.Option(..., "--document", help="The policy document: JSON, or @FILE."),
                    account: Optional[str] = AccountOpt, data_dir: Optional[Path] = DataDirOpt,
                    database_url: Optional[str] = DbOpt):
    """Create a custom policy; prints its PolicyId."""
    text = Path(document[1:]).read_text(encoding="utf-8") if document.startswith("@") else document
    with owner_of(account, data_dir, database_url) as (svc, owner):
        typer.echo(svc.cam.policies.create(owner, name, text))


@policies_app.command("delete")
def policies_delete(policy_id: int = typer.Argument(...), account: Optional[str] = AccountOpt,
                    data_dir: Optional[Path] = DataDirOpt, database_url: Optional[str] = DbOpt):
    """Delete a custom policy (detached from everyone at once)."""
    with owner_of(account, data_dir, database_url) as (svc, owner):
        svc.cam.policies.delete(owner, [policy_id])

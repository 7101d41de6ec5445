"""Reset a data dir to its accounts alone (``POST /_localcvm/reset``, ``localcvm reset``): what
tests between cases need, as moto's and LocalStack's resets are. Every resource goes (instances,
disks, snapshots, images, key pairs, jobs, tags, buckets, and their files); accounts stay, or,
with ``accounts=True``, only the root account does (someone must be able to sign the next call)."""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..store.reset import delete_resources

if TYPE_CHECKING:
    from .core import Services

# directories of the data dir that hold resources' bytes (disks, image bases, chunks, exports, scratch)
RESOURCE_DIRS = ("disks", "bases", "blobs", "cos", "work")


@dataclass(frozen=True)
class ResetResult:
    rows: int
    accounts_dropped: int


def reset_data(services: Services, *, accounts: bool = False) -> ResetResult:
    """Drop every resource of ``services``' data dir (see the module docstring)."""
    keep = None
    if accounts:
        listed = services.accounts.list_accounts()
        keep = (listed[0].uin,) if listed else ()
    with services.db.write() as repo:
        deleted = delete_resources(repo, keep_uins=keep)
    services.blobs.close()  # chunk stores reopen (and recreate their directories) on next use
    for vm in services.driver.list():  # real VMs stop before their disks go (no process is left)
        services.driver.destroy(vm.instance_id)
    data_dir = Path(services.settings.data_dir)
    trash = [moved for name in RESOURCE_DIRS if (moved := _move_aside(data_dir / name)) is not None]
    vms = data_dir / "vms"
    if vms.is_dir():
        for entry in os.scandir(vms):
            if entry.name.startswith("ins-") and not entry.is_dir():
                Path(entry.path).unlink(missing_ok=True)
    for path in trash:
        shutil.rmtree(path, ignore_errors=True)
    dropped = deleted.get("accounts", 0)
    return ResetResult(sum(n for name, n in deleted.items() if name not in ("accounts", "api_keys")), dropped)


def _move_aside(path: Path) -> Path | None:
    """Rename ``path`` out of the way (new writers see an empty place at once); the moved name or None."""
    if not path.exists():
        return None
    target = path.with_name(f".reset-{path.name}-{secrets.token_hex(4)}")
    os.replace(path, target)
    return target

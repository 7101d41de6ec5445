"""The QEMU driver's record of one VM (``vm.json`` in its directory) and its boot-time files.

The record is the VM's commit point (a VM exists iff it does), replaced atomically. It holds
the shape, the disks, the boot-time configuration (user data, keys, password, hostname,
metadata, addresses) and the ports of the current run; the process itself is found through
the pid file (``process.alive_pid``).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from ...fsio import write_json_atomic
from ...imaging.guest import nocloud_files, write_seed
from ..driver import VmSpec
from .metadata import DATA_FILE

__all__ = ["boot_config", "read_state", "write_boot_files", "write_state"]

FORMAT = 1


def boot_config(spec: VmSpec) -> dict:
    """The part of the record a ``configure`` replaces: what the guest learns at boot."""
    return {
        "user_data": base64.b64encode(spec.user_data).decode() if spec.user_data is not None else None,
        "hostname": spec.hostname, "ssh_keys": list(spec.ssh_keys), "password": spec.password,
        "region": spec.region, "zone": spec.zone, "private_ip": spec.private_ip, "public_ip": spec.public_ip,
        "subnet_cidr": spec.subnet_cidr, "metadata": dict(spec.metadata),
    }


def read_state(path: Path) -> dict | None:
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # a torn record from a crash before the rename never happens; unreadable = absent
    return state if state.get("format") == FORMAT else None


def write_state(path: Path, state: dict) -> None:
    state["format"] = FORMAT
    write_json_atomic(path, state)


def metadata_tree(instance_id: str, cfg: dict) -> dict:
    """What http://169.254.0.23/latest/meta-data/ answers, as a tree (see ``metadata.lookup``)."""
    meta = cfg.get("metadata") or {}
    tree = {
        "instance-id": instance_id,
        "instance-name": meta.get("instance_name", instance_id),
        "uuid": meta.get("uuid", ""),
        "hostname": cfg.get("hostname") or instance_id,
        "local-ipv4": cfg.get("private_ip") or "",
        "public-ipv4": cfg.get("public_ip") or "",
        "mac": meta.get("mac", "52:54:00:12:34:56"),
        "placement": {"region": cfg.get("region") or "", "zone": cfg.get("zone") or ""},
        "instance": {"instance-type": meta.get("instance_type", ""), "image-id": meta.get("image_id", "")},
    }
    keys = cfg.get("ssh_keys") or []
    if keys:
        tree["public-keys"] = {str(i): {"openssh-key": k.strip()} for i, k in enumerate(keys)}
    return tree


def write_boot_files(vm_dir: Path, instance_id: str, cfg: dict, *, metadata_endpoint: str | None = None) -> None:
    """The NoCloud seed (``seed.img``: a ``cidata`` FAT image made without mounts, attached read-only)
    and the metadata file for the next boot. ``metadata_endpoint`` ("HOST:PORT"): where the guest
    relays 169.254.0.23:80 when its network cannot hold that address."""
    user_data = base64.b64decode(cfg["user_data"]) if cfg.get("user_data") else b""
    files = nocloud_files(instance_id=instance_id, hostname=cfg.get("hostname") or instance_id, user_data=user_data,
                          authorized_keys=[k for k in cfg.get("ssh_keys") or [] if k.strip()],
                          root_password=cfg.get("password"), metadata_endpoint=metadata_endpoint)
    write_seed(vm_dir / "seed.img", files)
    data = {"meta-data": metadata_tree(instance_id, cfg), "user-data": cfg.get("user_data")}
    tmp = vm_dir / f".{DATA_FILE}.tmp"
    tmp.write_text(json.dumps(data))
    os.replace(tmp, vm_dir / DATA_FILE)

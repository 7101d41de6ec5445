"""Setting up the compute side from the operator's settings: the public IP range, the QEMU driver
(accelerator, memory scale, ports) and the public guest disk it boots; and what ``doctor`` says."""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
from pathlib import Path

from ..config import Settings

log = logging.getLogger("localcvm.compute")

NON_ROOT_SSH_PORT = 2222


def check_public_range(value: str) -> ipaddress.IPv4Network:
    """The public IP range: IPv4 inside 127.0.0.0/8 (nothing may listen outside loopback)."""
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"LOCALCVM_PUBLIC_IP_RANGE `{value}` is not a network (e.g. 127.100.0.0/16)") from None
    if net.version != 4 or not net.subnet_of(ipaddress.ip_network("127.0.0.0/8")):
        raise ValueError(f"LOCALCVM_PUBLIC_IP_RANGE `{value}` must lie inside 127.0.0.0/8: instances' public "
                         "addresses are loopback addresses, and nothing listens outside 127.0.0.0/8")
    if net.num_addresses < 4:
        raise ValueError(f"LOCALCVM_PUBLIC_IP_RANGE `{value}` is too small")
    return net


def guest_cache_dir(settings: Settings) -> Path:
    return settings.guest_cache_dir


def guest_disk(settings: Settings) -> Path:
    """The public guest disk (built on first use, with progress in the log)."""
    from ..imaging.guest import build_public_disk

    last = {"step": None}

    def progress(step: str, done: int, total: int) -> None:
        if step != last["step"]:
            last["step"] = step
            log.warning("building the public guest disk: %s", step)

    return build_public_disk(guest_cache_dir(settings), progress=progress)


def ssh_port(settings: Settings) -> int:
    """The port instances' SSH listens on at their public address: 22 as root, else 2222."""
    if settings.ssh_port:
        return settings.ssh_port
    return 22 if os.geteuid() == 0 else NON_ROOT_SSH_PORT


def forward_ports(settings: Settings) -> tuple[int, ...]:
    ports = []
    for part in settings.qemu_forward_ports.split(","):
        if part.strip():
            port = int(part)
            if not 0 < port < 65536:
                raise ValueError(f"LOCALCVM_QEMU_FORWARD_PORTS: {port} is not a TCP port")
            ports.append(port)
    return tuple(ports)


def accelerator(settings: Settings, disk: Path | None):
    from ..hypervisor.qemu.accel import probe

    return probe(disk, force=settings.qemu_accel or False)


def qemu_driver(settings: Settings):
    from ..hypervisor.qemu.driver import QemuConfig, QemuDriver

    if shutil.which("qemu-system-x86_64") is None:
        raise ValueError("the qemu driver needs qemu-system-x86_64 (Debian: apt-get install qemu-system-x86)")
    disk = guest_disk(settings)
    accel = accelerator(settings, disk)
    log.warning("qemu driver: accelerator %s (%s)", accel.name.upper(), accel.reason)
    port = ssh_port(settings)
    if port != 22:
        log.warning("qemu driver: not running as root, so instances' SSH listens on port %d of their public "
                    "address (LOCALCVM_SSH_PORT)", port)
    config = QemuConfig(accel=accel, memory_scale=settings.qemu_memory_scale, max_vcpus=settings.qemu_max_vcpus,
                        stop_timeout=settings.qemu_stop_timeout, forward_ports=forward_ports(settings), ssh_port=port)
    driver = QemuDriver(settings.data_dir / "vms", config)
    if driver.adopted:
        log.warning("qemu driver: adopted %d running VM(s): %s", len(driver.adopted), ", ".join(driver.adopted))
    return driver


def doctor_report(settings: Settings) -> list[tuple[str, str]]:
    """(item, finding) pairs for ``localcvm doctor``."""
    from ..hypervisor.qemu.accel import qemu_version
    from ..imaging.guest import describe_public_disk

    rows = [("compute driver", settings.driver)]
    rows.append(("qemu-system-x86_64", qemu_version() or "not installed (apt-get install qemu-system-x86)"))
    bios = Path("/usr/share/seabios/bios-256k.bin")
    rows.append(("SeaBIOS", str(bios) if bios.exists() else "not found (apt-get install seabios)"))
    described = describe_public_disk(guest_cache_dir(settings))  # its own row: imaging.guest.doctor_check
    disk = Path(described["path"]) if described else None
    accel = accelerator(settings, disk)
    rows.append(("kvm", f"{accel.name.upper()}: {accel.reason}"))
    try:
        net = check_public_range(settings.public_ip_range)
        rows.append(("public IP range", f"{net} ({net.num_addresses - 2} addresses, loopback)"))
    except ValueError as exc:
        rows.append(("public IP range", f"INVALID: {exc}"))
    port = ssh_port(settings)
    rows.append(("instance SSH port", f"{port}" + ("" if port == 22 else " (not root: ports below 1024 need root)")))
    return rows


def console_text(settings: Settings, instance_id: str) -> str | None:
    """The instance's serial console log as its driver keeps it, read from the data dir (no driver is
    opened, so a running server's VMs are not touched); None when there is none."""
    from ..hypervisor.driver import valid_instance_id

    if not valid_instance_id(instance_id):
        return None
    vms = settings.data_dir / "vms"
    for path in (vms / instance_id / "serial.log", vms / f"{instance_id}.console.log"):
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    return None

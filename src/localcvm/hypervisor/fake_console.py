"""The fake driver's serial console: plausible, deterministic boot and shutdown lines of a small
Debian guest, appended to a log kept as a ring buffer."""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path

__all__ = ["append_console", "blocks", "boot_lines", "kernel", "shutdown_lines", "uptime"]

CONSOLE_MAX = 1 << 20  # a console log longer than this ...
CONSOLE_KEEP = 512 << 10  # ... is cut down to its last 512 KiB
BOOT_SECONDS = 3.2  # simulated time a boot takes (console timestamps)


def append_console(path: Path, lines: list[str], *, truncate: bool = False) -> None:
    with open(path, "w" if truncate else "a", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))
        size = fh.tell()
    if size > CONSOLE_MAX:  # keep the tail, as a serial-console ring buffer would
        data = path.read_bytes()[-CONSOLE_KEEP:]
        cut = data.find(b"\n")
        path.write_bytes(data[cut + 1:] if cut >= 0 else data)


def uptime(state: dict, now: datetime) -> float:
    """Simulated seconds since the VM booted, for kernel-style timestamps."""
    if not state.get("started_at"):
        return 0.0
    elapsed = (now - datetime.fromisoformat(state["started_at"])).total_seconds()
    return BOOT_SECONDS + max(elapsed, 0.0)


def kernel(t: float, text: str) -> str:
    return f"[{t:12.6f}] {text}"


def blocks(size: int) -> str:
    return f"{size // 512} 512-byte logical blocks ({size / 1e9:.1f} GB/{size / (1 << 30):.1f} GiB)"


def boot_lines(state: dict) -> list[str]:
    """What a small Debian guest prints on its serial console while booting."""
    k = kernel
    host = state.get("hostname") or state["instance_id"]
    disks = sorted(state["disks"], key=lambda d: d["device"])
    system = next(d for d in disks if d["role"] == "system")
    lines = [
        "SeaBIOS (version 1.16.2-debian-1.16.2-1)",
        f"Booting from Hard Disk ({system['device']})...",
        k(0.0, "Linux version 6.1.0-localcvm-amd64 (localcvm fake hypervisor) #1 SMP PREEMPT_DYNAMIC"),
        k(0.0, f"Command line: BOOT_IMAGE=/vmlinuz root=/dev/{system['device']}1 ro console=ttyS0,115200n8"),
        k(0.0, "Hypervisor detected: KVM"),
        k(0.012104, f"Memory: {state['memory_mib']} MiB available"),
        k(0.104367, f"smp: Brought up 1 node, {state['cpu']} CPU{'s' if state['cpu'] != 1 else ''}"),
    ]
    for n, d in enumerate(disks):
        lines.append(k(0.812 + n * 0.004, f"virtio_blk virtio{n + 2}: [{d['device']}] {blocks(d['size_bytes'])}"))
    lines += [
        k(1.310552, f"EXT4-fs ({system['device']}1): mounted filesystem with ordered data mode. Quota mode: none."),
        k(1.902311, "cloud-init[412]: Cloud-init v. 22.4.2 running 'init' (localcvm datasource)"),
    ]
    if state["boot_count"] == 1:  # per-instance modules run on the first boot only
        user_data = base64.b64decode(state["user_data"]) if state.get("user_data") else b""
        summary = f"{len(user_data)} bytes of user-data" if user_data else "no user-data"
        lines.append(k(1.954020, f"cloud-init[412]: first boot: {summary}, {len(state.get('ssh_keys', []))} ssh key(s)"))
    lines += [
        k(2.401873, f"systemd[1]: Set hostname to <{host}>."),
        k(2.803115, "sshd[530]: Server listening on 0.0.0.0 port 22."),
        k(3.100420, "systemd[1]: Reached target multi-user.target - Multi-User System."),
        "",
        f"Debian GNU/Linux 12 {host} ttyS0",
        "",
        f"{host} login: ",
    ]
    return lines

def shutdown_lines(t: float, final: str) -> list[str]:
    return [
        kernel(t, "systemd[1]: Stopping session-1.scope - Session 1 of User root..."),
        kernel(t + 0.211, "systemd-shutdown[1]: Syncing filesystems and block devices."),
        kernel(t + 0.398, final),
    ]

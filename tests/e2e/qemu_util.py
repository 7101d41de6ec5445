"""Helpers of the QEMU end-to-end tests: a `localcvm serve --driver qemu`, SSH into its guests,
the QEMU processes and disk files it leaves."""

from __future__ import annotations

import base64
import os
import random
import signal
import stat
import subprocess
from pathlib import Path

from tests.api import sdk
from tests.api.instances_util import call, instance, wait_state
from tests.helpers import Server, wait_until

# one guest disk build per machine, shared by every test server (and the bench)
GUEST_CACHE = Path(os.environ.get("LOCALCVM_TEST_GUEST_CACHE", "/var/tmp/localcvm-guest-cache"))
ZONE = "ap-guangzhou-3"
TYPE = "S5.MEDIUM4"  # 4 GiB, scaled to 256 MiB
BOOT_TIMEOUT = 120


def qemu_server(data_dir: Path, **env) -> Server:
    """A server on the QEMU driver, with guests small enough for a 2-core CI machine and its own
    public range (so servers of parallel runs never share an address)."""
    GUEST_CACHE.mkdir(parents=True, exist_ok=True)
    net = f"127.{random.randint(101, 250)}.{random.randint(0, 255)}.0/24"
    extra = {"LOCALCVM_DRIVER": "qemu", "LOCALCVM_QEMU_MEMORY_SCALE": "0.0625", "LOCALCVM_GUEST_CACHE": str(GUEST_CACHE),
             "LOCALCVM_QEMU_STOP_TIMEOUT": "20", "LOCALCVM_PUBLIC_IP_RANGE": net, "LOCALCVM_QEMU_MAX_VCPUS": "1",
             "LOCALCVM_REQUEST_LOG": "0", **env}
    return Server(data_dir, extra_env=extra)


def public_linux_image(client) -> str:
    got = call(client, "DescribeImages", {"Filters": [{"Name": "image-type", "Values": ["PUBLIC_IMAGE"]},
                                                      {"Name": "platform", "Values": ["Ubuntu"]}], "Limit": 100})
    return next(i.ImageId for i in got.ImageSet if i.Architecture == "x86_64")


def run_one(client, image_id: str, *, zone: str = ZONE, **extra) -> str:
    body = {"Placement": {"Zone": zone}, "ImageId": image_id, "InstanceType": TYPE,
            "InternetAccessible": {"PublicIpAssigned": True, "InternetMaxBandwidthOut": 10}, **extra}
    (instance_id,) = call(client, "RunInstances", body).InstanceIdSet
    wait_state(client, [instance_id], "RUNNING", timeout=BOOT_TIMEOUT)
    return instance_id


def user_data(script: str) -> str:
    return base64.b64encode(script.encode()).decode()


class Ssh:
    """``ssh root@ADDRESS`` with a private key file or a password (through SSH_ASKPASS, no extra tools)."""

    def __init__(self, address: str, workdir: Path, *, private_key: str | None = None, password: str | None = None,
                 port: int = 22):
        self.address, self.port = address, port
        self.workdir = workdir
        self.opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                     "-o", "ConnectTimeout=5", "-o", "BatchMode=" + ("no" if password else "yes"), "-p", str(port)]
        self.env = dict(os.environ)
        if private_key is not None:
            key = workdir / f"key-{abs(hash(private_key))}"
            key.write_text(private_key if private_key.endswith("\n") else private_key + "\n")
            key.chmod(stat.S_IRUSR | stat.S_IWUSR)
            self.opts += ["-i", str(key), "-o", "PasswordAuthentication=no"]
        if password is not None:
            askpass = workdir / "askpass.sh"
            askpass.write_text(f"#!/bin/sh\necho '{password}'\n")
            askpass.chmod(0o700)
            self.opts += ["-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive",
                          "-o", "NumberOfPasswordPrompts=1"]
            self.env.update(SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")

    def run(self, command: str, timeout: float = 30, check: bool = True) -> str:
        proc = subprocess.run(["ssh", *self.opts, f"root@{self.address}", command], capture_output=True, text=True,
                              timeout=timeout, env=self.env, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"ssh {self.address} {command!r}: exit {proc.returncode}: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def wait(self, timeout: float = BOOT_TIMEOUT) -> "Ssh":
        # an attempt made before the guest listens is dropped after 5 s and made again (it would
        # otherwise wait out the user network's SYN retransmission backoff)
        wait_until(lambda: self.run("true", timeout=5) == "", timeout=timeout, interval=0.2,
                   what=f"SSH on {self.address}")
        return self


def ssh_to(client, instance_id: str, workdir: Path, **auth) -> Ssh:
    ip = instance(client, instance_id).PublicIpAddresses[0]
    return Ssh(ip, workdir, **auth).wait()


def boot_id(ssh: Ssh) -> str:
    return ssh.run("cat /proc/sys/kernel/random/boot_id")


def metadata(ssh: Ssh, path: str) -> str:
    return ssh.run(f"wget -qO- http://metadata.tencentyun.com/latest/{path}")


def qemu_pid(server: Server, instance_id: str) -> int | None:
    """The pid of the instance's QEMU when it runs (checked against its command line)."""
    try:
        pid = int((server.data_dir / "vms" / instance_id / "qemu.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if f"guest={instance_id},".encode() in cmdline else None


def qemu_pids_of(server: Server) -> list[int]:
    """Every QEMU process whose command line names this server's data dir."""
    marker = str(server.data_dir).encode()
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
                status = (entry / "stat").read_text()
            except OSError:
                continue
            if b"qemu-system" in cmd and marker in cmd and status.rsplit(")", 1)[-1].split()[0] != "Z":
                out.append(int(entry.name))
    return out


def overlays(server: Server) -> list[Path]:
    return sorted((server.data_dir / "disks").rglob("*.qcow2"))


def console(server: Server, instance_id: str) -> str:
    return server.cli("instances", "console", instance_id).stdout


def cvm(server: Server, region: str = "ap-guangzhou"):
    return sdk.cvm(server, region)


def kill_vms(server: Server) -> None:
    for pid in qemu_pids_of(server):
        os.kill(pid, signal.SIGKILL)


def websocket_answers(url: str) -> bool:
    """True when ``url`` (ws://127.0.0.1:PORT) completes a websocket handshake and speaks VNC (RFB)."""
    import socket
    from urllib.parse import urlparse

    u = urlparse(url)
    assert u.scheme == "ws" and u.hostname == "127.0.0.1", url
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall((f"GET {u.path or '/'} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n").encode())
        data = b""
        while b"RFB " not in data and len(data) < 4096:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.startswith(b"HTTP/1.1 101") and b"RFB " in data

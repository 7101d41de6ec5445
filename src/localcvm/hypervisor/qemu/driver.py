"""``QemuDriver``: every VM a ``qemu-system-x86_64`` process, controlled over QMP.

Each VM has a directory ``<state_dir>/<instance-id>/`` (``process.Layout``) with its record
``vm.json`` (the commit point: the VM exists iff it does), its pid file, QMP socket, serial log,
NoCloud seed and metadata file. QEMU daemonizes into its own session, so a server killed with
SIGKILL leaves its VMs running; the next driver on the same directory adopts every VM whose pid
file names a live QEMU of that VM that answers QMP, kills one that does not answer (never two
QEMUs for one VM) and reports the others STOPPED.

Power: a soft stop is ACPI (QMP ``system_powerdown``) with ``stop_timeout`` seconds for the guest
to power off, then ``quit``; a hard stop is ``quit`` (SIGKILL if QMP is gone). A guest that powers
itself off ends its QEMU (no ``-no-shutdown``), which ``info`` shows as STOPPED. A soft reboot is
an ACPI power-down and a new boot (the guest shuts down cleanly, as it does for a reboot); a hard
one is ``system_reset``. Disks are virtio-blk with node names, so ``block_resize`` grows a disk
online and ``device_add``/``device_del`` hot-plug data disks; ``frozen_disk`` pauses the VM
(QMP ``stop`` drains and flushes every disk) while the caller reads the file.
"""

from __future__ import annotations

from collections.abc import Callable

import contextlib
import dataclasses
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ...imaging import qemu_img
from ..driver import (
    ComputeDriver, DiskSpec, DriverError, InvalidVmState, PowerState, VmAlreadyExists, VmInfo,
    VmNotFound, VmSpec, valid_instance_id,
)
from ..fake_files import inspect_disk
from ..fake_locks import locks_for
from . import process, qmp, state as records
from .accel import Accel
from .proxy import ProxySet
from .qemu_disks import DiskOps

__all__ = ["QemuConfig", "QemuDriver"]

log = logging.getLogger("localcvm.qemu")
CONSOLE_TAIL = 256 * 1024


@dataclass(frozen=True)
class QemuConfig:
    """The operator's settings the driver uses (see ``config.Settings``: ``qemu_*``)."""

    accel: Accel
    memory_scale: float = 1.0
    min_memory_mib: int = 128
    max_vcpus: int = 0  # 0: the host's cores
    stop_timeout: float = 30.0
    forward_ports: tuple[int, ...] = ()  # guest ports forwarded besides 22
    ssh_port: int = 22  # the port the proxy listens on for the guest's 22 (2222 when not root)
    vnc: bool = True


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class QemuDriver(DiskOps, ComputeDriver):
    name = "qemu"
    supports_console = True
    supports_live_snapshot = True
    supports_hot_plug = True
    supports_online_resize = True
    boots_images = True

    def __init__(self, state_dir: Path, config: QemuConfig, *, proxies: ProxySet | None = None):
        self.state_dir = Path(state_dir).resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.proxies = proxies or ProxySet()
        self._locks = locks_for(self.state_dir)
        self.adopted: list[str] = []
        self._adopt_all()

    # --- records ---------------------------------------------------------------------------------
    def layout(self, instance_id: str) -> process.Layout:
        return process.Layout(self.state_dir / instance_id)

    def _read(self, instance_id: str) -> dict | None:
        if not valid_instance_id(instance_id):
            return None
        return records.read_state(self.layout(instance_id).state)

    def _require(self, instance_id: str) -> dict:
        st = self._read(instance_id)
        if st is None:
            raise VmNotFound(instance_id)
        return st

    def _write(self, st: dict) -> None:
        records.write_state(self.layout(st["instance_id"]).state, st)

    def _pid(self, instance_id: str) -> int | None:
        return process.alive_pid(self.layout(instance_id), process.name_of(instance_id))

    # --- adoption after a restart -------------------------------------------------------------------
    def _adopt_all(self) -> None:
        for vm_dir in sorted(p for p in self.state_dir.iterdir() if p.is_dir()):
            instance_id = vm_dir.name
            if not valid_instance_id(instance_id):
                continue
            with self._locks.hold(instance_id):
                st = self._read(instance_id)
                if st is None:  # a spawn that crashed before its commit point
                    self._kill(instance_id)
                    shutil.rmtree(vm_dir, ignore_errors=True)
                    continue
                pid = self._pid(instance_id)
                if pid is None:
                    self._cleanup_run(instance_id)
                    continue
                failed = self._answers(instance_id)
                if failed:
                    log.warning("VM %s: QEMU pid %s does not answer QMP (%s); stopping it", instance_id, pid, failed)
                    self._kill(instance_id)
                    continue
                self._open_proxies(st)
                self.adopted.append(instance_id)
                log.info("VM %s: adopted the running QEMU (pid %s)", instance_id, pid)

    def _answers(self, instance_id: str, tries: int = 3) -> str | None:
        """None when the VM's QMP answers (another process may hold it a moment: retried), else why not."""
        failed = None
        for _ in range(tries):
            try:
                with qmp.session(self.layout(instance_id).qmp, timeout=5) as s:
                    s.cmd("query-status")
                return None
            except qmp.QmpFailed as exc:
                failed = str(exc)
                time.sleep(0.5)
        return failed

    # --- process helpers ---------------------------------------------------------------------------
    def _kill(self, instance_id: str) -> None:
        pid = self._pid(instance_id)
        if pid is not None:
            process.kill_pid(pid)
        self._cleanup_run(instance_id)

    def _cleanup_run(self, instance_id: str) -> None:
        lay = self.layout(instance_id)
        self.proxies.close(instance_id)
        for p in (lay.pid, lay.qmp, lay.dir / "vnc.sock"):
            p.unlink(missing_ok=True)

    def _shape(self, st: dict) -> tuple[int, int]:
        c = self.config
        cpus = st["cpu"] if c.max_vcpus <= 0 else min(st["cpu"], c.max_vcpus)
        cpus = min(cpus, os.cpu_count() or 1)
        memory = max(c.min_memory_mib, int(st["memory_mib"] * c.memory_scale))
        return max(1, cpus), memory

    def _start(self, st: dict) -> None:
        """Start the VM's QEMU (new ports each run; a port taken meanwhile is retried)."""
        instance_id = st["instance_id"]
        lay = self.layout(instance_id)
        plan = process.NetPlan.for_ip(st["boot"].get("private_ip"), st["boot"].get("subnet_cidr"), {})
        records.write_boot_files(lay.dir, instance_id, st["boot"],
                                 metadata_endpoint=f"{plan.metadata}:80" if plan.relayed else None)
        cpus, memory = self._shape(st)
        last = None
        for _ in range(3):
            guest_ports = [22, *[p for p in self.config.forward_ports if p != 22]]
            forwards = {g: process.free_port() for g in guest_ports}
            vnc = process.free_port() if self.config.vnc else None
            net = dataclasses.replace(plan, forwards=forwards)
            args = process.qemu_args(instance_id, lay, accel=self.config.accel.name, cpu=cpus, memory_mib=memory,
                                     disks=st["disks"], net=net, vnc_port=vnc)
            try:
                pid = process.launch(args, lay)
            except RuntimeError as exc:
                last = exc
                if "ould not set up host forwarding" in str(exc) or "ddress already in use" in str(exc):
                    continue
                break
            st.update(forwards={str(k): v for k, v in forwards.items()}, vnc_port=vnc, pid=pid,
                      started_at=_now(), boot_count=st.get("boot_count", 0) + 1)
            self._write(st)
            self._open_proxies(st)
            return
        self._cleanup_run(instance_id)
        raise DriverError(f"VM {instance_id}: QEMU did not start: {last}", instance_id)

    def _open_proxies(self, st: dict) -> None:
        public_ip = st["boot"].get("public_ip")
        if not public_ip or not st.get("forwards"):
            return
        forwards = []
        for guest, host in sorted((int(g), h) for g, h in st["forwards"].items()):
            listen = self.config.ssh_port if guest == 22 else (guest if guest >= 1024 or os.geteuid() == 0
                                                               else 10000 + guest)
            forwards.append((listen, host, guest))
        try:
            self.proxies.open(st["instance_id"], public_ip, forwards)
        except OSError as exc:
            log.warning("VM %s: %s", st["instance_id"], exc)

    def _qmp(self, instance_id: str, command: str, timeout: float = 10.0, **args):
        try:
            with qmp.session(self.layout(instance_id).qmp, timeout=timeout) as s:
                return s.cmd(command, **args)
        except qmp.QmpFailed as exc:
            raise DriverError(f"VM {instance_id}: {exc}", instance_id) from None

    def _status(self, instance_id: str) -> PowerState:
        if self._pid(instance_id) is None:
            return PowerState.STOPPED
        try:
            with qmp.session(self.layout(instance_id).qmp, timeout=3) as s:
                status = s.cmd("query-status").get("status")
        except qmp.QmpFailed:
            return PowerState.RUNNING if self._pid(instance_id) else PowerState.STOPPED
        return PowerState.PAUSED if status in ("paused", "suspended", "internal-error", "io-error") \
            else PowerState.RUNNING

    def _stop(self, instance_id: str, hard: bool) -> None:
        pid = self._pid(instance_id)
        if pid is None:
            self._cleanup_run(instance_id)
            return
        if not hard:
            try:
                self._qmp(instance_id, "system_powerdown", timeout=5)
                if process.wait_gone(pid, self.config.stop_timeout):
                    self._cleanup_run(instance_id)
                    return
                log.info("VM %s: no power-off within %.0f s of the ACPI request; stopping it hard",
                         instance_id, self.config.stop_timeout)
            except DriverError:
                pass
        with contextlib.suppress(DriverError):
            self._qmp(instance_id, "quit", timeout=5)
        if not process.wait_gone(pid, 5):
            process.kill_pid(pid)
        self._cleanup_run(instance_id)

    # --- life cycle --------------------------------------------------------------------------------
    def spawn(self, spec: VmSpec) -> VmInfo:
        instance_id = spec.instance_id
        with self._locks.hold(instance_id):
            if self._read(instance_id) is not None:
                raise VmAlreadyExists(instance_id)
            for disk in spec.disks:
                self.check_disk(instance_id, disk)
            lay = self.layout(instance_id)
            shutil.rmtree(lay.dir, ignore_errors=True)
            lay.dir.mkdir(parents=True, mode=0o700)  # the record holds the root password
            st = {"instance_id": instance_id, "cpu": spec.cpu, "memory_mib": spec.memory_mib,
                  "disks": [d.to_json() for d in sorted(spec.disks, key=lambda d: d.device)],
                  "boot": records.boot_config(spec), "created_at": _now(), "boot_count": 0}
            try:
                self._write(st)
                self._start(st)
            except BaseException:
                self._kill(instance_id)
                shutil.rmtree(lay.dir, ignore_errors=True)
                raise
            return self._info(st)

    def set_connection_policy(self, allow: Callable[[str, str, str, int], bool] | None) -> None:
        self.proxies.set_allow(allow)

    def configure(self, spec: VmSpec) -> None:
        with self._locks.hold(spec.instance_id):
            st = self._require(spec.instance_id)
            self._apply(st, spec)
            self._write(st)

    @staticmethod
    def _apply(st: dict, spec: VmSpec) -> None:
        """The next boot's shape and first-boot data from ``spec`` (its CPU and memory: a new
        instance type takes effect at the next start, as ResetInstancesType documents)."""
        old = st["boot"].get("password")
        st["boot"] = records.boot_config(spec)
        if spec.password is None:  # the caller does not know it: the guest keeps its password
            st["boot"]["password"] = old
        st["cpu"], st["memory_mib"] = spec.cpu, spec.memory_mib

    def set_password(self, instance_id: str, password: str) -> None:
        with self._locks.hold(instance_id):
            st = self._read(instance_id)
            if st is not None:
                st["boot"]["password"] = password
                self._write(st)

    def power_on(self, instance_id: str, spec: VmSpec | None = None) -> None:
        with self._locks.hold(instance_id):
            st = self._require(instance_id)
            status = self._status(instance_id)
            if status == PowerState.RUNNING:
                return
            if status == PowerState.PAUSED:
                self._qmp(instance_id, "cont")
                return
            if spec is not None:
                self._apply(st, spec)
            for d in st["disks"]:
                d["size_bytes"] = inspect_disk(instance_id, d["device"], Path(d["path"]), d["fmt"])
            self._start(st)

    def power_off(self, instance_id: str, hard: bool = False) -> None:
        with self._locks.hold(instance_id):
            self._require(instance_id)
            self._stop(instance_id, hard)

    def reboot(self, instance_id: str, hard: bool = False) -> None:
        with self._locks.hold(instance_id):
            st = self._require(instance_id)
            status = self._status(instance_id)
            if status == PowerState.STOPPED:
                raise InvalidVmState(instance_id, status.value, "reboot",
                                     f"VM {instance_id} is stopped; only a running VM can be rebooted "
                                     "(power it on instead)")
            if hard:
                self._qmp(instance_id, "system_reset")
                if status == PowerState.PAUSED:
                    self._qmp(instance_id, "cont")
                st.update(started_at=_now(), boot_count=st.get("boot_count", 0) + 1)
                self._write(st)
                return
            self._stop(instance_id, hard=status == PowerState.PAUSED)
            self._start(st)

    def destroy(self, instance_id: str) -> None:
        if not valid_instance_id(instance_id):
            return
        with self._locks.hold(instance_id):
            self._kill(instance_id)
            lay = self.layout(instance_id)
            lay.state.unlink(missing_ok=True)  # the commit point goes first
            shutil.rmtree(lay.dir, ignore_errors=True)

    # --- inspection --------------------------------------------------------------------------------
    def _info(self, st: dict, status: PowerState | None = None) -> VmInfo:
        instance_id = st["instance_id"]
        status = status or self._status(instance_id)
        running = status != PowerState.STOPPED
        created = datetime.fromisoformat(st["created_at"]) if st.get("created_at") else None
        started = datetime.fromisoformat(st["started_at"]) if running and st.get("started_at") else None
        forwards = st.get("forwards") or {}
        return VmInfo(instance_id=instance_id, power_state=status, started_at=started, created_at=created,
                      cpu=st["cpu"], memory_mib=st["memory_mib"],
                      disks=tuple(DiskSpec.from_json(d) for d in sorted(st["disks"], key=lambda d: d["device"])),
                      boot_count=st.get("boot_count", 0),
                      ssh_port=forwards.get("22") if running else None)

    def info(self, instance_id: str) -> VmInfo:
        st = self._read(instance_id)
        if st is None:
            return VmInfo(instance_id=instance_id, power_state=PowerState.ABSENT)
        return self._info(st)

    def list(self) -> list[VmInfo]:
        out = []
        for vm_dir in sorted(p for p in self.state_dir.iterdir() if p.is_dir()):
            st = self._read(vm_dir.name)
            if st is not None:
                out.append(self._info(st))
        return out

    def console_log(self, instance_id: str) -> str:
        self._require(instance_id)
        path = self.layout(instance_id).serial
        try:
            with open(path, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - CONSOLE_TAIL))
                return fh.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def vnc_url(self, instance_id: str) -> str | None:
        st = self._read(instance_id)
        if st is None or not st.get("vnc_port") or self._pid(instance_id) is None:
            return None
        return f"ws://127.0.0.1:{st['vnc_port']}"

    def live_ids(self) -> set[str]:
        """The VMs whose QEMU is alive now (cheap: pid files and /proc only)."""
        return {p.name for p in self.state_dir.iterdir()
                if p.is_dir() and valid_instance_id(p.name) and self._pid(p.name) is not None}

    def wait_stopped(self, instance_id: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._pid(instance_id) is None:
                return True
            time.sleep(0.1)
        return False

    def close(self) -> None:
        """Stop serving the proxies (the VMs keep running: a restarted server adopts them)."""
        self.proxies.close_all()

    # for DiskOps
    def _resize_file(self, path: Path, fmt: str, new_size: int) -> None:
        try:
            qemu_img.resize(path, fmt, new_size)
        except qemu_img.QemuImgError as exc:
            raise DriverError(f"resizing {path} failed: {exc}") from exc

"""The fake driver: fast and deterministic, with real state kept on disk.

Each VM is a JSON file under ``state_dir`` written atomically, so a server
restarted after a crash still knows which VMs exist and their power state.
Spawning checks that every disk file exists and is an image of its declared
format (``qemu-img info``). ``inject()`` makes the next calls of a method
fail, for tests of the failure paths.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from ..imaging import qemu_img
from .driver import ComputeDriver, DiskSpec, DriverError, VmInfo, VmNotFound, VmSpec


class FakeDriver(ComputeDriver):
    real_vm = False

    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._faults: dict[str, list] = {}

    # --- fault injection ----------------------------------------------------------------
    def inject(self, method: str, error: Exception, times: int = 1) -> None:
        with self._lock:
            self._faults.setdefault(method, []).extend([error] * times)

    def _fault(self, method: str) -> None:
        with self._lock:
            queue = self._faults.get(method)
            error = queue.pop(0) if queue else None
        if error is not None:
            raise error

    # --- state files ------------------------------------------------------------------------
    def _path(self, instance_id: str) -> Path:
        return self.state_dir / f"{instance_id}.json"

    def _load(self, instance_id: str) -> dict:
        try:
            return json.loads(self._path(instance_id).read_text())
        except FileNotFoundError:
            raise VmNotFound(instance_id) from None

    def _save(self, state: dict) -> None:
        path = self._path(state["instance_id"])
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def _log(self, instance_id: str, line: str) -> None:
        with open(self.state_dir / f"{instance_id}.console.log", "a") as fh:
            fh.write(f"[{time.time():.3f}] {line}\n")

    @staticmethod
    def _info(state: dict) -> VmInfo:
        return VmInfo(state["instance_id"], state["power_state"], state.get("started_at"), state.get("boots", 0),
                      sorted(state.get("disks", {})))

    # --- operations ---------------------------------------------------------------------------
    def spawn(self, spec: VmSpec) -> VmInfo:
        with self._lock:
            if self._path(spec.instance_id).exists():
                raise DriverError(f"VM {spec.instance_id} already exists")
        self._fault("spawn")
        for disk in spec.disks:
            if not disk.path.exists():
                raise DriverError(f"disk {disk.device} of {spec.instance_id}: {disk.path} does not exist")
            found = qemu_img.info(disk.path, disk.fmt)
            if found.virtual_size != disk.size_bytes:
                raise DriverError(f"disk {disk.device}: {found.virtual_size} bytes, {disk.size_bytes} declared")
        state = {"instance_id": spec.instance_id, "cpu": spec.cpu, "memory_mib": spec.memory_mib,
                 "disks": {d.device: str(d.path) for d in spec.disks}, "power_state": "running",
                 "started_at": time.time(), "boots": 1}
        self._save(state)
        self._log(spec.instance_id, f"localcvm fake BIOS: booting {spec.instance_id} from {spec.disks[0].device}")
        self._log(spec.instance_id, "login: ")
        return self._info(state)

    def _change(self, instance_id: str, method: str, fn) -> None:
        self._fault(method)
        with self._lock:
            state = self._load(instance_id)
            fn(state)
            self._save(state)

    def power_on(self, instance_id: str) -> None:
        def on(state):
            if state["power_state"] != "running":
                state.update(power_state="running", started_at=time.time(), boots=state.get("boots", 0) + 1)
                self._log(instance_id, "powered on; login: ")

        self._change(instance_id, "power_on", on)

    def power_off(self, instance_id: str, hard: bool = False) -> None:
        def off(state):
            if state["power_state"] != "stopped":
                state.update(power_state="stopped", started_at=None)
                self._log(instance_id, "power off" + (" (forced)" if hard else ": reached target Power-Off"))

        self._change(instance_id, "power_off", off)

    def reboot(self, instance_id: str, hard: bool = False) -> None:
        def again(state):
            state.update(power_state="running", started_at=time.time(), boots=state.get("boots", 0) + 1)
            self._log(instance_id, "reboot" + (" (reset)" if hard else "") + "; login: ")

        self._change(instance_id, "reboot", again)

    def destroy(self, instance_id: str) -> None:
        self._fault("destroy")
        with self._lock:
            self._path(instance_id).unlink(missing_ok=True)
            (self.state_dir / f"{instance_id}.console.log").unlink(missing_ok=True)

    def info(self, instance_id: str) -> VmInfo:
        with self._lock:
            return self._info(self._load(instance_id))

    def list(self) -> list[VmInfo]:
        with self._lock:
            return [self._info(json.loads(p.read_text())) for p in sorted(self.state_dir.glob("*.json"))]

    def console_log(self, instance_id: str) -> str:
        path = self.state_dir / f"{instance_id}.console.log"
        if not self._path(instance_id).exists():
            raise VmNotFound(instance_id)
        return path.read_text() if path.exists() else ""

    def attach_disk(self, instance_id: str, disk: DiskSpec) -> None:
        def attach(state):
            if disk.device in state["disks"]:
                raise DriverError(f"{instance_id} already has a disk at {disk.device}")
            state["disks"][disk.device] = str(disk.path)

        self._change(instance_id, "attach_disk", attach)

    def detach_disk(self, instance_id: str, device: str) -> None:
        def detach(state):
            state["disks"].pop(device, None)

        self._change(instance_id, "detach_disk", detach)

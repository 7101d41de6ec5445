"""Per-VM locks of the fake driver: a thread lock in this process and an ``fcntl`` byte-range lock
across processes sharing one state directory."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["VmLocks", "locks_for"]




class VmLocks:
    """Locks for the VMs of one state directory.

    A VM id hashes to a 32-bit *slot*. Holding a slot means holding a thread
    lock for it (this process) and an exclusive ``lockf`` lock on byte
    ``slot`` of the lock file (other processes). Two ids that share a slot
    just serialise; POSIX record locks belong to the process, which is why
    the thread lock is keyed by slot too (otherwise two threads with
    colliding ids would share one record lock and release it early).

    One instance per directory and process (see ``locks_for``): POSIX
    drops all of a process's record locks on a file when *any* descriptor
    of that file is closed, so the descriptor is opened once and kept.
    """

    def __init__(self, lock_file: Path):
        self._fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._guard = threading.Lock()
        self._slots: dict[int, list] = {}  # slot -> [thread lock, users]

    @staticmethod
    def _slot(instance_id: str) -> int:
        return int.from_bytes(hashlib.sha256(instance_id.encode()).digest()[:4], "big")

    @contextlib.contextmanager
    def hold(self, instance_id: str) -> Iterator[None]:
        slot = self._slot(instance_id)
        with self._guard:  # reference-counted, so the table does not grow forever
            entry = self._slots.setdefault(slot, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                fcntl.lockf(self._fd, fcntl.LOCK_EX, 1, slot, os.SEEK_SET)
                try:
                    yield
                finally:
                    fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, slot, os.SEEK_SET)
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._slots[slot]


_LOCKS: dict[str, VmLocks] = {}
_LOCKS_GUARD = threading.Lock()


def locks_for(state_dir: Path) -> VmLocks:
    key = os.path.realpath(state_dir)
    with _LOCKS_GUARD:
        if key not in _LOCKS:
            _LOCKS[key] = VmLocks(Path(key) / ".lock")
        return _LOCKS[key]

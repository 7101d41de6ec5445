"""Worker threads that lease and run jobs.

``localcvm serve`` runs a ``WorkerPool`` in-process; ``localcvm worker`` runs
one on its own. Handlers are registered by kind; a handler gets a
:class:`~localcvm.jobs.queue.JobHandle` and must finish it (``handle.finish``).
A handler that raises fails the job through its ``on_error`` callback.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable

from ..store.db import Database
from .queue import Interrupted, JobHandle, LeaseLost, lease, release

log = logging.getLogger("localcvm.jobs")


@dataclass
class JobKind:
    run: Callable[[JobHandle], None]
    # Called (with the handle and the exception) when ``run`` raises; must fail the job.
    on_error: Callable[[JobHandle, BaseException], None]
    max_attempts: int = 5


class WorkerPool:
    def __init__(self, db: Database, kinds: dict[str, JobKind], threads: int = 4, poll_seconds: float = 0.5,
                 expected: Callable[[BaseException], bool] = lambda exc: False):
        self.db = db
        self.kinds = kinds
        # failures that are an outcome told to the user (a 404 download, a source deleted mid-copy):
        # logged as one line; anything else is a bug and is logged with its traceback
        self.expected = expected
        self.threads = threads
        self.poll_seconds = poll_seconds
        self.owner_prefix = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> "WorkerPool":
        self.reclaim_dead_leases()
        for i in range(self.threads):
            t = threading.Thread(target=self._loop, args=(f"{self.owner_prefix}:{i}",), name=f"localcvm-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def reclaim_dead_leases(self) -> int:
        """Release leases held by dead worker processes of this host (e.g. after kill -9),
        so their jobs resume now instead of when the lease would have expired."""
        host = socket.gethostname()
        released = 0
        with self.db.write() as repo:
            for job in repo.running_jobs():
                owner_host, _, rest = (job.lease_owner or "").partition(":")
                pid = rest.split(":", 1)[0]
                if owner_host == host and pid.isdigit() and not _pid_alive(int(pid)):
                    job.lease_expires = 0.0
                    released += 1
        if released:
            log.info("released %d job lease(s) of dead workers", released)
        return released

    def notify(self) -> None:
        """Wake idle workers (called after enqueueing in this process)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop leasing; running handlers stop at their next progress report (``Interrupted``)."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def _loop(self, owner: str) -> None:
        while not self._stop.is_set():
            try:
                handle = lease(self.db, list(self.kinds), owner, self._stop)
            except Exception:  # database busy or gone: back off, try again
                log.exception("leasing a job failed")
                handle = None
            if handle is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            self.run_one(handle)

    def run_one(self, handle: JobHandle) -> None:
        kind = self.kinds[handle.view.kind]
        try:
            if handle.view.attempts > kind.max_attempts:
                raise RuntimeError(f"gave up after {kind.max_attempts} attempts")
            kind.run(handle)
        except LeaseLost:
            log.warning("job %s: lease lost, another worker has it", handle.view.job_id)
        except Exception as exc:
            if self._stop.is_set():
                # shutting down: Interrupted at a progress report, or an error from resources being
                # closed under it. Not a failure: the job goes back to the queue and resumes from its
                # last checkpoint in the next worker.
                self._interrupted(handle, exc)
                return
            if self.expected(exc):
                log.warning("job %s (%s) failed: %s", handle.view.job_id, handle.view.kind, exc)
            else:
                log.exception("job %s (%s) failed", handle.view.job_id, handle.view.kind)
            try:
                kind.on_error(handle, exc)
            except LeaseLost:
                pass
            except Exception:
                log.exception("job %s: recording the failure failed; it will be retried", handle.view.job_id)

    def _interrupted(self, handle: JobHandle, exc: Exception) -> None:
        try:
            release(self.db, handle)
        except Exception:  # the database is going away too: the lease expires, or the next start reclaims it
            log.warning("job %s: could not release its lease; it resumes when the lease expires", handle.view.job_id)
        how = "" if isinstance(exc, Interrupted) else f" ({type(exc).__name__}: {exc})"
        log.info("job %s (%s) interrupted by shutdown%s; it resumes in the next worker",
                 handle.view.job_id, handle.view.kind, how)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a lease of an earlier incarnation with our pid is stale too
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

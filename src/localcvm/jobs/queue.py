"""Enqueue, lease, report progress, finish.

A job is enqueued inside the caller's write transaction (``enqueue(repo, …)``),
so the job exists if and only if the state it drives (an image in IMPORTING,
say) exists. Workers lease jobs for ``LEASE_SECONDS`` and renew the lease as
they report progress; a job whose worker died is leased again once its lease
expires, and its handler resumes from the last checkpoint (every step is
idempotent).
"""

from __future__ import annotations

import json
import secrets
import string
import threading
import time
from dataclasses import dataclass

from ..store.db import Database
from ..store.models import Job
from ..store.repo import Repo, utcnow

LEASE_SECONDS = 30.0
_ALNUM = string.ascii_lowercase + string.digits


class LeaseLost(Exception):
    """Another worker owns the job now (this one stalled past its lease)."""


class Interrupted(Exception):
    """The worker is shutting down: the handler stops at its next progress report; the job resumes later."""


@dataclass
class JobView:
    job_id: str
    kind: str
    resource_id: str
    owner_uin: str | None
    payload: dict
    checkpoint: dict
    attempts: int


def enqueue(repo: Repo, kind: str, resource_id: str, payload: dict, owner_uin: str | None = None) -> str:
    job_id = "job-" + "".join(secrets.choice(_ALNUM) for _ in range(12))
    now = utcnow()
    repo.add(Job(
        job_id=job_id, kind=kind, resource_id=resource_id, owner_uin=owner_uin,
        payload=json.dumps(payload), state="PENDING", progress=0, checkpoint="{}",
        attempts=0, lease_owner=None, lease_expires=0.0, error="", created_at=now, updated_at=now,
    ))
    return job_id


class JobHandle:
    """What a running handler uses to report progress and checkpoints."""

    def __init__(self, db: Database, view: JobView, owner: str, stopping: threading.Event | None = None):
        self.db = db
        self.view = view
        self.owner = owner
        self.stopping = stopping or threading.Event()  # set by a worker pool that shuts down
        self._last_at = 0.0
        self._last_percent = -1

    @property
    def payload(self) -> dict:
        return self.view.payload

    @property
    def checkpoint(self) -> dict:
        return self.view.checkpoint

    def progress(self, percent: int, checkpoint: dict | None = None, apply=None) -> None:
        """Renew the lease, record progress (and a checkpoint); ``apply(repo)`` runs in the same transaction.

        Each call is a small write transaction, so plain progress reports are
        throttled: written when the percentage changed and half a second has
        passed, or every 10 s regardless (to renew the lease). Checkpoints are
        always written. Raises ``Interrupted`` once the worker pool is stopping.
        """
        if self.stopping.is_set():
            raise Interrupted(self.view.job_id)
        percent = max(0, min(100, int(percent)))
        now = time.monotonic()
        if checkpoint is None:
            elapsed = now - self._last_at
            if elapsed < 0.5 or (percent == self._last_percent and elapsed < 10):
                return
        self._last_at, self._last_percent = now, percent
        changes: dict = {"progress": percent}
        if checkpoint is not None:
            self.view.checkpoint = checkpoint
            changes["checkpoint"] = json.dumps(checkpoint)
        with self.db.write() as repo:
            if not repo.renew_lease(self.view.job_id, self.owner, LEASE_SECONDS, **changes):
                raise LeaseLost(self.view.job_id)
            if apply is not None:
                apply(repo)

    def finish(self, ok: bool, error: str = "", apply=None) -> None:
        """Mark the job done; ``apply(repo)`` updates the driven state in the same transaction."""
        with self.db.write() as repo:
            job = repo.get_job(self.view.job_id)
            if job is None or job.lease_owner != self.owner or job.state != "RUNNING":
                raise LeaseLost(self.view.job_id)
            job.state = "SUCCEEDED" if ok else "FAILED"
            job.progress = 100 if ok else job.progress
            job.error = error[:1024]
            job.lease_owner = None
            job.updated_at = utcnow()
            if apply is not None:
                apply(repo)


def release(db: Database, handle: JobHandle) -> bool:
    """Give an interrupted job back to the queue at once (not counted as an attempt); False if not ours."""
    with db.write() as repo:
        job = repo.get_job(handle.view.job_id)
        if job is None or job.lease_owner != handle.owner or job.state != "RUNNING":
            return False
        job.lease_owner = None
        job.lease_expires = 0.0
        job.attempts = max(0, job.attempts - 1)
        job.updated_at = utcnow()
    return True


def lease(db: Database, kinds: list[str], owner: str, stopping: threading.Event | None = None) -> JobHandle | None:
    with db.write() as repo:
        job = repo.lease_job(kinds, owner, LEASE_SECONDS)
        if job is None:
            return None
        view = JobView(job.job_id, job.kind, job.resource_id, job.owner_uin,
                       json.loads(job.payload or "{}"), json.loads(job.checkpoint or "{}"), job.attempts)
    return JobHandle(db, view, owner, stopping)

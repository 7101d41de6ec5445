"""CBS auto-snapshot policies (CreateAutoSnapshotPolicy, …) and the scheduler that carries them out.

A policy takes a snapshot of each disk bound to it at every slot of its ``Policy`` rules
(``schedule.py``), on ``services.clock``, through the snapshot service's own ``add_snapshot`` (so the
snapshots are made by the same ``snapshot_create`` job as CreateSnapshot's). As the CBS API documents
BindAutoSnapshotPolicy, a disk that is not in use (an unattached disk, or one whose instance is not
running) gets no scheduled snapshot. Each slot is taken once: the slot's snapshots and the policy's
``last_slot`` are written in one transaction with the policy row locked, so two schedulers (two
processes, or one restarted) never take a slot twice.

Retention: a snapshot of a policy that is not ``IsPermanent`` gets a deadline ``RetentionDays`` after
its slot; every pass deletes NORMAL snapshots whose deadline has passed (ModifySnapshotAttribute's
``Deadline`` too). ``Settings.auto_snapshot_retention_amount`` (shown as ``RetentionAmount``) keeps
at most that many of a policy's snapshots per disk, newest first.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from ...store.db import Database
from ...store.models_core import AutoSnapshotPolicy
from ...store.repo import Repo
from ...store.repo_core import PolicyRepo, TermsRepo
from .. import errors
from ..iam import Identity
from ..ids import is_id, new_id
from ..query import IdKind, check_describe, match_all, require_ids
from .schedule import PolicyRule, check_rules, next_slot, slots_between

log = logging.getLogger("localcvm.snapshots")
MAX_POLICIES = 30  # auto-snapshot policies per account and region
MAX_BIND = 80  # "at most 80 disks per BindAutoSnapshotPolicy call"
POLICY_FILTERS = {"auto-snapshot-policy-id", "auto-snapshot-policy-state", "auto-snapshot-policy-name"}
DEFAULT_NAME = "未命名"


@dataclass(frozen=True)
class PolicyView:
    policy_id: str
    name: str
    activated: bool
    permanent: bool
    retention_days: int
    retention_amount: int
    rules: tuple[PolicyRule, ...]
    created_at: datetime
    next_trigger: datetime | None
    disk_ids: tuple[str, ...]
    instance_ids: tuple[str, ...]
    state: str = "NORMAL"


def _rules(row: AutoSnapshotPolicy) -> list[PolicyRule]:
    return [PolicyRule.from_json(r) for r in json.loads(row.schedule)]


def _check_name(name: str | None) -> str:
    if name is not None and len(name.encode()) > 60:
        raise errors.InvalidParameterValue("AutoSnapshotPolicyName must be at most 60 bytes.")
    return name or DEFAULT_NAME


def _retention(permanent: bool | None, days: int | None, error: type[errors.ApiError]) -> tuple[bool, int]:
    """(IsPermanent, RetentionDays): "RetentionDays cannot be given with IsPermanent true"."""
    if permanent and days is not None:
        raise error("RetentionDays cannot be given with IsPermanent=true.")
    if days is not None and not 1 <= days <= 65535:
        raise errors.InvalidParameterValue(f"RetentionDays must be at least 1, got {days}.")
    return bool(permanent), (days if days is not None else 7)


class AutoSnapshotService:
    def __init__(self, db: Database, disks, clock, retention_amount: int = 0):
        self.db = db
        self.disks = disks  # DiskService: disks, snapshots, add_snapshot
        self.clock = clock
        self.retention_amount = retention_amount

    def _own(self, repo: Repo, identity: Identity, region: str, policy_id: str) -> AutoSnapshotPolicy:
        row = PolicyRepo(repo).get(policy_id, for_update=True) if is_id("asp", policy_id) else None
        if row is None or row.owner_uin != identity.uin or row.region != region:
            raise errors.InvalidAutoSnapshotPolicyIdNotFound(f"The auto-snapshot policy `{policy_id}` does not exist in {region}.")
        return row

    # --- CreateAutoSnapshotPolicy / ModifyAutoSnapshotPolicyAttribute / DeleteAutoSnapshotPolicies ------
    def create(self, identity: Identity, region: str, rules: list[PolicyRule], *, name: str | None,
               activated: bool | None, permanent: bool | None, retention_days: int | None,
               dry_run: bool = False) -> tuple[str, datetime | None]:
        """(policy ID, its first slot); with ``dry_run`` only the first slot ("" for the ID)."""
        self.disks.regions.get(region, product="cbs")
        check_rules(rules)
        name = _check_name(name)
        permanent, days = _retention(permanent, retention_days, errors.InvalidParameterValue)
        now = self.clock.now()
        first = next_slot(rules, now, now)
        if dry_run:
            return "", first
        with self.db.write() as repo:
            repo.lock(f"auto-snapshot-policies:{identity.uin}:{region}")
            policies = PolicyRepo(repo)
            if policies.count(identity.uin, region) >= MAX_POLICIES:
                raise errors.LimitExceededAutoSnapshotPolicyOutOfQuota(f"At most {MAX_POLICIES} auto-snapshot policies per region.")
            policy_id = new_id("asp")
            policies.add(AutoSnapshotPolicy(
                policy_id=policy_id, owner_uin=identity.uin, region=region, name=name,
                activated=True if activated is None else activated, permanent=permanent, retention_days=days,
                schedule=json.dumps([r.to_json() for r in rules]), created_at=now, last_slot=now))
        return policy_id, first

    def modify(self, identity: Identity, region: str, policy_id: str, *, rules: list[PolicyRule] | None,
               name: str | None, activated: bool | None, permanent: bool | None, retention_days: int | None) -> None:
        if rules is not None:
            check_rules(rules)
        now = self.clock.now()
        with self.db.write() as repo:
            row = self._own(repo, identity, region, policy_id)
            if name is not None:
                row.name = _check_name(name)
            new_permanent = row.permanent if permanent is None else permanent
            if new_permanent and retention_days is not None:  # "must not conflict with IsPermanent"
                raise errors.InvalidParameter("RetentionDays cannot be given to a policy whose snapshots are permanent.")
            if retention_days is not None:
                row.retention_days = _retention(False, retention_days, errors.InvalidParameter)[1]
            row.permanent = new_permanent
            if rules is not None:
                row.schedule, row.last_slot = json.dumps([r.to_json() for r in rules]), max(row.last_slot, now)
            if activated is not None:
                if activated and not row.activated:  # no catch-up for the time it was off
                    row.last_slot = max(row.last_slot, now)
                row.activated = activated

    def delete(self, identity: Identity, region: str, policy_ids: list[str]) -> None:
        require_ids("AutoSnapshotPolicyIds", policy_ids)
        with self.db.write() as repo:
            repo.lock_all(AutoSnapshotPolicy, policy_ids)
            rows = [self._own(repo, identity, region, p) for p in dict.fromkeys(policy_ids)]
            for row in rows:
                PolicyRepo(repo).delete(row.policy_id)

    # --- BindAutoSnapshotPolicy / UnbindAutoSnapshotPolicy ---------------------------------------------
    def bind(self, identity: Identity, region: str, policy_id: str, disk_ids: list[str]) -> None:
        require_ids("DiskIds", disk_ids)
        if len(disk_ids) > MAX_BIND:
            raise errors.InvalidParameterValueLimitExceeded(f"At most {MAX_BIND} DiskIds per call.")
        with self.db.write() as repo:
            row = self._own(repo, identity, region, policy_id)
            policies = PolicyRepo(repo)
            bound = set(policies.disks_of([policy_id])[policy_id])
            disks = self.disks.own_all(repo, identity, region, disk_ids)
            for disk in disks:
                if disk.disk_id in bound:
                    raise errors.InvalidDiskAlreadyBound(f"The disk `{disk.disk_id}` is already bound to `{policy_id}`.")
            now = self.clock.now()
            for disk in disks:
                policies.bind(row.policy_id, disk.disk_id, now)

    def unbind(self, identity: Identity, region: str, policy_id: str, disk_ids: list[str] | None,
               instance_ids: list[str] | None) -> None:
        if not disk_ids and not instance_ids:
            raise errors.MissingParameter("Give DiskIds or InstanceIds.")
        with self.db.write() as repo:
            self._own(repo, identity, region, policy_id)
            targets = [d.disk_id for d in self.disks.own_all(repo, identity, region, disk_ids or [])]
            for instance_id in dict.fromkeys(instance_ids or []):
                inst = self.disks.instances.own(repo, identity, region, instance_id)
                targets += [d.disk_id for d in repo.disks_of_instance(inst.instance_id)]
            PolicyRepo(repo).unbind(policy_id, targets)  # disks not bound to it are skipped, as documented

    # --- DescribeAutoSnapshotPolicies ------------------------------------------------------------------
    def describe(self, identity: Identity, region: str, *, ids: list[str] | None, filters: list[dict] | None,
                 offset: int | None, limit: int | None, order: str | None) -> tuple[int, list[PolicyView]]:
        self.disks.regions.get(region, product="cbs")
        query = check_describe("DescribeAutoSnapshotPolicies", "AutoSnapshotPolicyIds", ids, filters, POLICY_FILTERS,
                               offset, limit, id_kind=IdKind("asp", errors.InvalidParameterValue, "auto-snapshot policy"),
                               coexist_error=errors.InvalidParameterValue)
        now = self.clock.now()
        with self.db.read() as repo:
            rows = [r for r in PolicyRepo(repo).of_owner(identity.uin, region) if not ids or r.policy_id in ids]
            bound = PolicyRepo(repo).disks_of([r.policy_id for r in rows])
            owners = {d.disk_id: d.instance_id for d in repo.disks_of(identity.uin, region,
                                                                       [x for v in bound.values() for x in v] or None)}
            views = [PolicyView(
                r.policy_id, r.name, r.activated, r.permanent, r.retention_days, self.retention_amount,
                tuple(_rules(r)), r.created_at, next_slot(_rules(r), r.created_at, max(r.last_slot, now)),
                tuple(bound[r.policy_id]),
                tuple(dict.fromkeys(owners[d] for d in bound[r.policy_id] if owners.get(d))),
            ) for r in rows]
        found = match_all(views, query.filters, _policy_matches)
        if (order or "ASC") == "DESC":
            found.reverse()
        return len(found), query.page.of(found)

    def policies_of_disks(self, repo: Repo, disk_ids: list[str]) -> dict[str, tuple[str, ...]]:
        return PolicyRepo(repo).policies_of_disks(disk_ids)

    # --- the scheduler's pass --------------------------------------------------------------------------
    def run_due(self, now: datetime | None = None) -> int:
        """Take every due slot of every activated policy, then apply retention. Returns snapshots made."""
        now = now or self.clock.now()
        with self.db.read() as repo:
            policy_ids = [p.policy_id for p in PolicyRepo(repo).activated()]
        made = sum(self._take_slots(policy_id, now) for policy_id in policy_ids)
        if made:
            self.disks.notify()
        self._prune(now)
        return made

    def _take_slots(self, policy_id: str, now: datetime) -> int:
        made = 0
        with self.db.write() as repo:
            row = PolicyRepo(repo).get(policy_id, for_update=True)
            if row is None or not row.activated:
                return 0
            slots = slots_between(_rules(row), row.created_at, row.last_slot, now)
            if not slots:
                return 0
            disk_ids = PolicyRepo(repo).disks_of([policy_id])[policy_id]
            for slot in slots:
                for disk_id in disk_ids:
                    made += self._snapshot_for(repo, row, disk_id, slot)
            row.last_slot = slots[-1]
        return made

    def _snapshot_for(self, repo: Repo, row: AutoSnapshotPolicy, disk_id: str, slot: datetime) -> int:
        disk = repo.get_disk(disk_id)
        inst = repo.get_instance(disk.instance_id) if disk is not None and disk.instance_id else None
        if disk is None or inst is None or inst.state != "RUNNING" or disk.state != "ATTACHED":
            return 0  # not in use: no scheduled snapshot, as BindAutoSnapshotPolicy documents
        try:
            snapshot_id = self.disks.add_snapshot(repo, disk, f"{row.name}_{slot:%Y%m%d%H}", created_at=slot)
        except errors.ApiError as exc:  # e.g. a hypervisor that snapshots stopped instances only
            log.info("auto-snapshot policy %s skips %s at %s: %s", row.policy_id, disk_id, slot, exc.message)
            return 0
        terms = TermsRepo(repo).terms_for(snapshot_id)
        terms.policy_id, terms.permanent = row.policy_id, row.permanent
        terms.deadline = None if row.permanent else slot + timedelta(days=row.retention_days)
        return 1

    def _prune(self, now: datetime) -> None:
        with self.db.write() as repo:
            gone = set(PolicyRepo(repo).expired_snapshots(now))
            if self.retention_amount > 0:
                policies = PolicyRepo(repo)
                for policy in policies.activated():
                    for disk_id in policies.disks_of([policy.policy_id])[policy.policy_id]:
                        taken = policies.snapshots_taken(policy.policy_id, disk_id)
                        gone.update(s for s, state, _ in taken[self.retention_amount:] if state == "NORMAL")
            bound = repo.images_of_snapshots(sorted(gone))
            for snapshot_id in sorted(gone):
                if not bound.get(snapshot_id):  # a snapshot backing an image stays with it
                    repo.delete_snapshot(snapshot_id)


def _policy_matches(v: PolicyView, name: str, values: list[str]) -> bool:
    simple = {"auto-snapshot-policy-id": v.policy_id, "auto-snapshot-policy-state": v.state,
              "auto-snapshot-policy-name": v.name}
    return simple[name] in values


class SnapshotScheduler:
    """The thread of ``localcvm serve`` (and ``worker``) that runs ``AutoSnapshotService.run_due``
    every ``interval`` seconds."""

    def __init__(self, service: AutoSnapshotService, interval: float):
        self.service = service
        self.interval = max(0.05, interval)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SnapshotScheduler:
        self._thread = threading.Thread(target=self._loop, name="localcvm-snapshot-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.service.run_due()
            except Exception:  # noqa: BLE001 - a busy or gone database: the next pass tries again
                log.exception("the auto-snapshot pass failed; retrying in %.1f s", self.interval)

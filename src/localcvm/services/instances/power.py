"""StartInstances, StopInstances, RebootInstances, TerminateInstances and their jobs."""

from __future__ import annotations

from collections.abc import Callable, Collection

from ...hypervisor.driver import VmNotFound
from ...jobs.queue import JobHandle, enqueue
from ...store.models import Instance
from ...store.repo import Repo
from ...store.repo_compute import PublicIps
from .. import errors
from ..iam import Identity
from . import lifecycle
from .requests import StopRequest

STOP_TYPES = ("SOFT", "HARD", "SOFT_FIRST")
STOPPED_MODES = ("KEEP_CHARGING", "STOP_CHARGING")


class PowerOps:
    """The power operations of ``InstanceService``."""

    def transition(self, identity: Identity, region: str, request_id: str, ids: list[str], *, action: str,
                   job: str, payload: dict | None = None, allowed: Collection[str] | None = None,
                   interim: str | None = None, check: Callable[[Repo, Instance], None] | None = None) -> None:
        """Begin ``action`` on every instance (all or none) and enqueue its job for each."""
        with self.db.write() as repo:
            rows = self.own_many(repo, identity, region, ids)
            for row in rows:
                lifecycle.check_operation(row, action, allowed)
                if check:
                    check(repo, row)
            for row in rows:
                lifecycle.begin_operation(row, action, allowed, request_id, interim=interim)
                enqueue(repo, job, row.instance_id, {"region": region, "action": action, **(payload or {})},
                        owner_uin=identity.uin)
        self.notify()

    def start(self, identity: Identity, region: str, request_id: str, ids: list[str]) -> None:
        self.transition(identity, region, request_id, ids, action="StartInstances", job="instance_power",
                        payload={"to": "RUNNING"})

    def stop(self, identity: Identity, region: str, request_id: str, ids: list[str], req: StopRequest) -> None:
        stop_type = _stop_type(req)
        mode = req.stopped_mode or "KEEP_CHARGING"
        if mode not in STOPPED_MODES:
            raise errors.InvalidParameterValue(f"StoppedMode must be KEEP_CHARGING or STOP_CHARGING, got `{mode}`.")

        def check(repo, row):
            if mode == "STOP_CHARGING" and row.charge_type != "POSTPAID_BY_HOUR":
                raise errors.UnsupportedOperation(
                    f"StoppedMode STOP_CHARGING is only for pay-as-you-go instances; `{row.instance_id}` is {row.charge_type}."
                )

        self.transition(identity, region, request_id, ids, action="StopInstances", job="instance_power",
                        payload={"to": "STOPPED", "hard": stop_type == "HARD", "mode": mode}, check=check)

    def reboot(self, identity: Identity, region: str, request_id: str, ids: list[str], req: StopRequest) -> None:
        stop_type = _stop_type(req)
        self.transition(identity, region, request_id, ids, action="RebootInstances", job="instance_power",
                        payload={"to": "RUNNING", "reboot": True, "hard": stop_type == "HARD"})

    def terminate(self, identity: Identity, region: str, request_id: str, ids: list[str]) -> None:
        def check(repo, row):
            if row.disable_api_termination:
                raise errors.UnsupportedOperationInstancesProtected(
                    f"The instance `{row.instance_id}` has DisableApiTermination set; clear it with ModifyInstancesAttribute first."
                )

        self.transition(identity, region, request_id, ids, action="TerminateInstances", job="instance_terminate",
                        check=check)

    # --- jobs ----------------------------------------------------------------------------------------
    def run_power(self, handle: JobHandle) -> None:
        p = handle.payload
        instance_id = handle.view.resource_id
        if p["to"] == "RUNNING":
            # key pairs, hostname and user data changed while stopped reach the guest at this boot
            with self.db.read() as repo:
                row = repo.get_instance(instance_id)
                spec = self.vm_spec(repo, row) if row is not None else None
            if spec is not None and self.driver.info(instance_id).exists:
                self.driver.configure(spec)
        if p.get("reboot"):
            self.driver.reboot(instance_id, hard=bool(p.get("hard")))
        elif p["to"] == "RUNNING":
            self.start_vm(instance_id)
        else:
            self.driver.power_off(instance_id, hard=bool(p.get("hard")))

        def extra(repo, row):
            row.stopped_mode = p.get("mode", "") if p["to"] == "STOPPED" else ""

        self.finish_job(handle, p["to"], extra)

    def run_terminate(self, handle: JobHandle) -> None:
        instance_id = handle.view.resource_id
        try:
            self.driver.destroy(instance_id)
        except VmNotFound:
            pass
        with self.db.read() as repo:
            row = repo.get_instance(instance_id)
            disks = repo.disks_of_instance(instance_id) if row else []
        for disk in disks:
            if disk.delete_with_instance:
                self.volumes.delete_disk(disk.region, disk.disk_id)

        orphaned_bases = []

        def apply(repo: Repo):
            for disk in repo.disks_of_instance(instance_id):
                if disk.delete_with_instance:
                    repo.delete_disk(disk.disk_id)
                else:
                    disk.instance_id, disk.state = None, "UNATTACHED"
            repo.delete_instance(instance_id)
            PublicIps(repo).release(instance_id)
            for disk in disks:  # a deleted custom image's base goes with its last disk
                if disk.base_kind == "image" and repo.get_image(disk.base_id) is None \
                        and disk.base_id not in self.images.catalogue and not repo.disks_using_base("image", disk.base_id):
                    orphaned_bases.append((disk.region, f"{disk.base_id}-{disk.base_index}"))

        handle.finish(True, "", apply)
        for region, name in orphaned_bases:
            self.volumes.drop_base(region, name)


def _stop_type(req: StopRequest) -> str:
    stop_type = req.stop_type or ("HARD" if req.force else "SOFT")
    if stop_type not in STOP_TYPES:
        raise errors.InvalidParameterValue(f"StopType must be SOFT, HARD or SOFT_FIRST, got `{stop_type}`.")
    return stop_type

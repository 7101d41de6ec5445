"""ResetInstancesType (and its job), DescribeInstancesModification, DescribeInstanceFamilyConfigs,
ModifyInstancesChargeType and ModifyInstancesProject: an instance's type, billing and project.

The CVM API documents ResetInstancesType as asynchronous: the instance must be stopped (or
``ForceStop`` given), ``LatestOperationState`` is ``SUCCESS`` once done, and "after the change the
instance shows as running, with no need to start it": the job stops the VM, writes the new type,
then starts the VM with the new type's CPU and memory (``InstanceService.start_vm``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from ...jobs.queue import JobHandle
from ...store.models import Instance
from ...store.repo import Repo, utcnow
from .. import errors
from ..iam import Identity
from ..query import check_filters, require_ids
from . import lifecycle
from .launch import PREPAID_PERIODS
from .types import TYPES, InstanceType, offerings, sold_in

# the system disk types ResetInstancesType documents as supported
RETYPE_SYSTEM_DISKS = frozenset({"CLOUD_BASIC", "CLOUD_PREMIUM", "CLOUD_SSD", "CLOUD_BSSD"})
CHARGE_CHANGES = ("PREPAID", "POSTPAID_BY_HOUR")


@dataclass(frozen=True)
class TypeOption:
    """One line of DescribeInstancesModification: a type an instance may move to, in its zone."""

    zone: str
    itype: InstanceType
    status: str = "SELL"
    message: str = ""


def check_type_change(current: InstanceType, wanted: str, zone: str, mainland: bool, *,
                      system_disk_type: str = "CLOUD_PREMIUM", stopped_mode: str = "") -> InstanceType:
    """The type ``wanted`` for an instance of ``current`` in ``zone``, or the error the CVM API gives
    for ResetInstancesType (malformed, not offered or not sold in the zone, the same type, an
    architecture or GPU change the API refuses, a system disk type it does not support)."""
    if not re.fullmatch(r"[A-Z0-9]+\.[A-Z0-9]+", wanted or ""):
        raise errors.InvalidInstanceTypeMalformed(f"The instance type `{wanted}` is malformed (e.g. S5.MEDIUM4).")
    itype = TYPES.get(wanted)
    if itype is None:
        raise errors.ResourceNotFoundInvalidZoneInstanceType(f"The zone {zone} offers no instance type `{wanted}`.")
    if not sold_in(itype, zone, mainland):
        raise errors.ResourceUnavailableInstanceType(
            f"The instance type `{wanted}` is not sold in {zone}; DescribeInstancesModification lists what is."
        )
    if itype.instance_type == current.instance_type:
        raise errors.InvalidParameterValue(f"The instance is already of type `{wanted}`.")
    if current.arch != "arm" and itype.arch == "arm":
        raise errors.UnsupportedOperationUnsupportedChangeInstanceFamilyToARM(
            f"`{current.instance_type}` runs {current.arch}; it cannot change to the ARM type `{wanted}`."
        )
    if current.arch == "arm" and itype.arch != "arm":
        raise errors.UnsupportedOperationUnsupportedARMChangeInstanceFamily(
            f"`{current.instance_type}` is an ARM type; it cannot change to the {itype.arch} type `{wanted}`."
        )
    if not current.gpu and itype.gpu:
        raise errors.InvalidParameterValueGPUInstanceFamily(f"A non-GPU instance cannot change to the GPU type `{wanted}`.")
    if current.gpu and itype.family != current.family:
        raise errors.InvalidParameterValueInvalidGPUFamilyChange(
            f"A {current.family} GPU instance cannot change to `{wanted}` of another family."
        )
    if system_disk_type not in RETYPE_SYSTEM_DISKS:
        raise errors.UnsupportedOperationSystemDiskType(
            f"ResetInstancesType supports system disks of {', '.join(sorted(RETYPE_SYSTEM_DISKS))}, not {system_disk_type}."
        )
    if stopped_mode == "STOP_CHARGING":
        raise errors.UnsupportedOperationStoppedModeStopCharging(
            "The instance was stopped with STOP_CHARGING; start it, then stop it with KEEP_CHARGING to change its type."
        )
    return itype


class ScaleOps:
    """The type, charge type and project operations of ``InstanceService``."""

    # --- ResetInstancesType --------------------------------------------------------------------------
    def reset_type(self, identity: Identity, region: str, request_id: str, ids: list[str], instance_type: str,
                   force_stop: bool) -> None:
        if len(dict.fromkeys(ids)) > 1:  # "the API supports one instance per call for now"
            raise errors.InvalidParameterValueLimitExceeded("ResetInstancesType changes one instance per call.")
        mainland = self.regions.get(region).mainland

        def check(repo: Repo, row: Instance) -> None:
            if row.state == "RUNNING" and not force_stop:
                raise errors.instance_state_error(row.state, row.instance_id,
                                                  "ResetInstancesType without ForceStop (stop it first)")
            system = repo.disks_of_instance(row.instance_id)[0]
            wanted = check_type_change(TYPES[row.instance_type], instance_type, row.zone, mainland,
                                       system_disk_type=system.disk_type, stopped_mode=row.stopped_mode or "")
            self.capacity.check_change(repo, TYPES[row.instance_type], wanted)

        self.transition(identity, region, request_id, ids, action="ResetInstancesType", job="instance_retype",
                        payload={"type": instance_type}, check=check)

    def run_reset_type(self, handle: JobHandle) -> None:
        """Stop the VM (hard: ForceStop), write the new type, start the VM with it."""
        p = handle.payload
        instance_id = handle.view.resource_id
        itype = TYPES[p["type"]]
        if not handle.checkpoint.get("typed"):
            self.driver.power_off(instance_id, hard=True)  # a no-op when stopped (or resumed after this step)

            def apply(repo: Repo) -> None:
                row = repo.get_instance(instance_id)
                if row is not None:
                    lifecycle.change_type(row, itype.instance_type, itype.cpu, itype.memory_gib)
                    lifecycle.advance(row, "STARTING")

            handle.progress(50, {"typed": True}, apply)
        self.start_vm(instance_id)
        self.finish_job(handle, "RUNNING", lambda repo, row: setattr(row, "stopped_mode", ""))

    # --- DescribeInstancesModification / DescribeInstanceFamilyConfigs -------------------------------
    def modification(self, identity: Identity, region: str, ids: list[str],
                     filters: list[dict] | None) -> list[TypeOption]:
        """The types every instance of ``ids`` (of one zone) may change to, as ``TypeOption``s."""
        checked = check_filters(filters or [], {"status", "instance-family", "instance-type"},
                                "DescribeInstancesModification")
        for i, (_name, values) in enumerate(checked):
            if len(values) > 2:  # "at most 2 Filter.Values"
                raise errors.InvalidFilterValueLimitExceeded(f"Filters.{i}.Values allows at most 2 values.")
        require_ids("InstanceIds", ids)
        if len(ids) > 100:
            raise errors.InvalidParameterValueLimitExceeded("At most 100 InstanceIds per call.")
        mainland = self.regions.get(region).mainland
        with self.db.read() as repo:
            rows = [self.own(repo, identity, region, i) for i in dict.fromkeys(ids)]
            facts = [(r.zone, TYPES[r.instance_type], repo.disks_of_instance(r.instance_id)[0].disk_type) for r in rows]
        zones = {zone for zone, _, _ in facts}
        if len(zones) > 1:
            raise errors.FailedOperationZoneInconsistent("DescribeInstancesModification takes instances of one zone.")
        out = []
        for zone, t in offerings(self.regions, region):
            if zone not in zones:
                continue
            try:
                for _zone, current, disk_type in facts:
                    check_type_change(current, t.instance_type, zone, mainland, system_disk_type=disk_type)
            except errors.ApiError:
                continue
            option = TypeOption(zone, t)
            fields = {"status": option.status, "instance-family": t.family, "instance-type": t.instance_type}
            if all(fields[n] in values for n, values in checked):
                out.append(option)
        return out

    def family_configs(self, region: str) -> list[tuple[str, str]]:
        """DescribeInstanceFamilyConfigs: ``(family, family name)`` of every family sold in the region."""
        seen: dict[str, str] = {}
        for _zone, t in offerings(self.regions, region):
            seen.setdefault(t.family, t.type_name)
        return list(seen.items())

    # --- ModifyInstancesChargeType / ModifyInstancesProject ------------------------------------------
    def modify_charge_type(self, identity: Identity, region: str, request_id: str, ids: list[str], charge: str,
                           period: int | None, renew_flag: str | None, portable_disks: bool) -> None:
        """Switch pay-as-you-go ↔ monthly; no job: the change is billing only and done at once."""
        if charge not in CHARGE_CHANGES:
            raise errors.InvalidParameterValue(f"InstanceChargeType must be PREPAID or POSTPAID_BY_HOUR, got `{charge}`.")
        if charge == "PREPAID" and period not in PREPAID_PERIODS:
            raise errors.InvalidPeriod(f"InstanceChargePrepaid.Period must be 1-12, 24, 36, 48 or 60 months, got {period}.")
        with self.db.write() as repo:
            rows = self.own_many(repo, identity, region, ids)
            for row in rows:
                lifecycle.check_operation(row, "ModifyInstancesChargeType")
                if row.charge_type == charge or row.charge_type not in CHARGE_CHANGES:
                    raise errors.UnsupportedOperationInstanceChargeType(
                        f"The instance `{row.instance_id}` is {row.charge_type}; it cannot change to {charge}."
                    )
                if row.stopped_mode == "STOP_CHARGING":
                    raise errors.UnsupportedOperationInstanceChargeType(
                        f"The instance `{row.instance_id}` is stopped with STOP_CHARGING; such instances keep their charge type."
                    )
            for row in rows:
                row.charge_type = charge
                prepaid = charge == "PREPAID"
                row.expired_at = utcnow() + timedelta(days=30 * period) if prepaid else None
                row.renew_flag = (renew_flag or "NOTIFY_AND_MANUAL_RENEW") if prepaid else ""
                for disk in repo.disks_of_instance(row.instance_id):
                    if disk.position == 0 or disk.delete_with_instance or portable_disks:
                        disk.charge_type = charge
                lifecycle.record_done(row, "ModifyInstancesChargeType", request_id)

    def modify_project(self, identity: Identity, region: str, request_id: str, ids: list[str], project_id: int) -> None:
        if project_id < 0:
            raise errors.InvalidProjectIdNotFound(f"The project ID {project_id} does not exist.")
        with self.db.write() as repo:
            rows = self.own_many(repo, identity, region, ids)
            for row in rows:
                lifecycle.check_operation(row, "ModifyInstancesProject")
            for row in rows:
                row.project_id = project_id
                lifecycle.record_done(row, "ModifyInstancesProject", request_id)

    # --- ModifyInstanceDiskType ----------------------------------------------------------------------
    def modify_disk_type(self, identity: Identity, region: str, instance_id: str, system_type: str | None,
                         data_types: list[str]) -> None:
        """The CVM API documents ModifyInstanceDiskType as turning an instance's *local* disks into cloud
        disks, stopped instances only. localcvm's disks are all cloud disks, so after the documented
        checks every instance is refused as one the operation does not support."""
        if not system_type and not data_types:
            raise errors.MissingParameter("Give SystemDisk.DiskType or DataDisks.0.DiskType.")
        if len(data_types) > 1:
            raise errors.InvalidParameterValue("ModifyInstanceDiskType converts one data disk per call.")
        with self.db.read() as repo:
            row = self.own(repo, identity, region, instance_id)
            lifecycle.check_operation(row, "ModifyInstanceDiskType")
            if row.stopped_mode == "STOP_CHARGING":
                raise errors.UnsupportedOperationStoppedModeStopCharging(
                    f"The instance `{instance_id}` was stopped with STOP_CHARGING."
                )
            local = [d.disk_id for d in repo.disks_of_instance(instance_id) if d.disk_type.startswith("LOCAL_")]
        if not local:
            raise errors.InvalidParameterInvalidInstanceNotSupported(
                f"The instance `{instance_id}` has no local disks; ModifyInstanceDiskType converts local disks to cloud disks."
            )

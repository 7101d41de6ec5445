"""ResetInstance, ResizeInstanceDisks, ModifyInstancesAttribute, ResetInstancesPassword and the
reset and resize jobs."""

from __future__ import annotations

import base64
import json

from ...hypervisor.driver import PowerState, VmSpec
from ...imaging.volumes import GIB
from ...jobs.queue import JobHandle, enqueue
from ...store.models import Instance
from ...store.repo import Repo
from .. import errors
from ..iam import Identity
from . import lifecycle, rules
from .requests import ModifyRequest, PasswordRequest, ResetRequest, ResizeRequest
from .types import TYPES


class ChangeOps:
    """The operations of ``InstanceService`` that change an instance's disks or settings."""

    # --- ResetInstance -------------------------------------------------------------------------------
    def reset(self, identity: Identity, region: str, request_id: str, req: ResetRequest) -> None:
        image, size, check = self.check_reset(identity, region, req)
        login = req.login
        self.transition(identity, region, request_id, [req.instance_id], action="ResetInstance", job="instance_reset",
                        payload={"image_id": image.image_id, "size": size, "key_ids": list(login.key_ids),
                                 "password": bool(login.password), "hostname": req.hostname or "",
                                 "os_name": image.os_name, "os_type": image.os_type,
                                 "user_data": req.user_data or ""},
                        check=check)

    def check_reset(self, identity: Identity, region: str, req: ResetRequest):
        """ResetInstance's checks (InquiryPriceResetInstance makes the same): the image, the new system
        disk size, and ``check(repo, row)`` for what needs the locked row."""
        with self.db.read() as repo:
            row = self.own(repo, identity, region, req.instance_id)
            current_image = row.image_id
            system = repo.disks_of_instance(row.instance_id)[0]
        image = self.images.get_visible(identity, region, req.image_id or current_image)
        if image.state != "NORMAL":
            raise errors.InvalidImageIdIncorrectState(f"The image `{image.image_id}` is {image.state}, not NORMAL.")
        size = req.system_disk_size or max(system.size_gib, image.size_gib)
        if size < image.size_gib or size < system.size_gib:
            raise errors.InvalidParameterValueRange(
                f"SystemDisk.DiskSize {size} GB must be at least the image's {image.size_gib} GB and the current {system.size_gib} GB."
            )
        rules.check_system_disk_size(size, image.size_gib, image.image_id)  # the ranges of RunInstances
        login = req.login
        if login.key_ids and image.os_type == "Windows":
            raise errors.UnsupportedOperationKeyPairUnsupportedWindows("Windows images do not support key pairs.")
        if login.password:
            rules.check_password(login.password, image.os_type, action="ResetInstance")
        if req.hostname:
            rules.check_hostname(req.hostname, image.os_type, action="ResetInstance")
        if req.user_data:
            rules.check_user_data(req.user_data)

        def check(repo, row):
            itype = TYPES[row.instance_type]
            if (image.architecture == "arm") != (itype.arch == "arm"):
                raise errors.InvalidParameterValueInvalidImageForGivenInstanceType(
                    f"The image `{image.image_id}` is for {image.architecture}; `{row.instance_type}` runs {itype.arch}."
                )
            self.check_key_pairs(repo, identity, login.key_ids)

        return image, size, check

    # --- ResizeInstanceDisks -------------------------------------------------------------------------
    def resize_disks(self, identity: Identity, region: str, request_id: str, req: ResizeRequest) -> None:
        with self.db.write() as repo:
            row, disks, wanted = self.check_resize(repo, identity, region, req)
            lifecycle.begin_operation(row, "ResizeInstanceDisks", None, request_id)
            for disk_id in wanted:
                disks[disk_id].state = "EXPANDING"
            enqueue(repo, "instance_resize", row.instance_id,
                    {"region": region, "sizes": wanted,
                     "positions": {disk_id: disks[disk_id].position for disk_id in wanted}},
                    owner_uin=identity.uin)
        self.notify()

    def check_resize(self, repo: Repo, identity: Identity, region: str, req: ResizeRequest, *, lock: bool = True):
        """ResizeInstanceDisks' checks (InquiryPriceResizeInstanceDisks makes the same): the instance
        row, its disks by ID and the new size of each disk that grows."""
        row = self.own(repo, identity, region, req.instance_id, lock=lock)
        disks = {d.disk_id: d for d in repo.disks_of_instance(row.instance_id)}
        lifecycle.check_operation(row, "ResizeInstanceDisks")
        if row.state == "RUNNING" and not (req.force_stop or req.resize_online):
            raise errors.instance_state_error(row.state, row.instance_id, "ResizeInstanceDisks without ForceStop")
        return row, disks, self._wanted_sizes(row, disks, req)

    @staticmethod
    def _wanted_sizes(row: Instance, disks: dict, req: ResizeRequest) -> dict[str, int]:
        wanted: dict[str, int] = {}
        if req.system_disk_size is not None:
            system = next(d for d in disks.values() if d.position == 0)
            wanted[system.disk_id] = req.system_disk_size or system.size_gib
        for i, d in enumerate(req.data_disks):
            if not d.disk_id or d.disk_id not in disks or disks[d.disk_id].position == 0:
                raise errors.UnsupportedOperationInvalidDataDisk(
                    f"DataDisks.{i}.DiskId `{d.disk_id}` is not a data disk of `{row.instance_id}`."
                )
            wanted[d.disk_id] = d.disk_size
        if not wanted:
            raise errors.MissingParameterAtLeastOne("Give SystemDisk or DataDisks with the new sizes.")
        for disk_id, size in wanted.items():
            disk = disks[disk_id]
            if size < disk.size_gib:
                raise errors.InvalidParameterValueRange(
                    f"Disk `{disk_id}` is {disk.size_gib} GB; disks can only grow (asked for {size} GB)."
                )
            limit = rules.SYSTEM_DISK_MAX if disk.position == 0 else rules.DISK_TYPES.get(disk.disk_type, (10, 32000))[1]
            if size > limit:
                raise errors.InvalidParameterValueRange(f"Disk `{disk_id}` can grow to at most {limit} GB.")
        return wanted

    # --- ModifyInstancesAttribute / ResetInstancesPassword -------------------------------------------
    def modify_attribute(self, identity: Identity, region: str, req: ModifyRequest) -> None:
        """Settings only: no state changes, so it runs beside an operation in progress."""
        if req.instance_name is not None:
            rules.check_instance_name(req.instance_name, action="ModifyInstancesAttribute")
        if req.user_data:
            rules.check_user_data(req.user_data)
        with self.db.write() as repo:
            if req.security_group_ids:  # the groups' lock before the instances' (AssociateSecurityGroups' order)
                self.network.hold_groups(repo, identity, region)
            rows = self.own_many(repo, identity, region, list(req.instance_ids))
            for row in rows:
                lifecycle.check_settings(row, "ModifyInstancesAttribute")
                if req.hostname is not None:
                    rules.check_hostname(req.hostname, row.os_type, action="ModifyInstancesAttribute")
            if req.security_group_ids is not None:
                self.network.check_instance_groups(repo, identity, region, list(req.security_group_ids))
            for row in rows:
                if req.instance_name is not None:
                    row.name = req.instance_name
                if req.hostname is not None:
                    row.hostname = req.hostname
                if req.disable_api_termination is not None:
                    row.disable_api_termination = req.disable_api_termination
                if req.security_group_ids is not None:
                    row.security_group_ids = json.dumps(list(req.security_group_ids))
                if req.user_data is not None:
                    row.user_data = req.user_data

    def reset_password(self, identity: Identity, region: str, request_id: str, req: PasswordRequest) -> None:
        with self.db.write() as repo:
            rows = self.own_many(repo, identity, region, list(req.instance_ids))
            for row in rows:
                rules.check_password(req.password, row.os_type, action="ResetInstancesPassword",
                                     username=req.username or None)
                lifecycle.check_operation(row, "ResetInstancesPassword")
                if row.state == "RUNNING" and not req.force_stop:
                    raise errors.instance_state_error(
                        row.state, row.instance_id, "ResetInstancesPassword without ForceStop (stop it first)"
                    )
            for row in rows:
                row.password_set = True
                lifecycle.record_done(row, "ResetInstancesPassword", request_id)
            ids = [row.instance_id for row in rows]
        for instance_id in ids:  # the guest gets it at its next start, as the real service requires a stop
            self.driver.set_password(instance_id, req.password)

    # --- jobs ----------------------------------------------------------------------------------------
    def run_reset(self, handle: JobHandle) -> None:
        p = handle.payload
        instance_id = handle.view.resource_id
        with self.db.read() as repo:
            region = repo.get_instance(instance_id).region
            system_id = repo.disks_of_instance(instance_id)[0].disk_id
        was_running = handle.checkpoint.get("was_running", self.driver.info(instance_id).power_state == "running")
        handle.progress(10, {"was_running": was_running})
        if was_running:
            self.driver.power_off(instance_id, hard=True)
        manifest = self.images.disk_manifest(region, p["image_id"], 0)
        base = self.volumes.ensure_base(region, f"{p['image_id']}-0", manifest)
        self.volumes.create_disk(region, system_id, p["size"], base)
        if was_running:
            # boots with the instance's current type and the reinstall's key pairs, hostname and user data
            self.driver.power_on(instance_id, spec=self._reset_spec(instance_id, p))

        def extra(repo: Repo, inst: Instance):
            disk = repo.disks_of_instance(instance_id)[0]
            disk.size_gib, disk.base_kind, disk.base_id, disk.base_index = p["size"], "image", p["image_id"], 0
            inst.image_id, inst.os_name, inst.os_type = p["image_id"], p["os_name"], p["os_type"]
            if p.get("hostname"):
                inst.hostname = p["hostname"]
            if p.get("user_data"):
                inst.user_data = p["user_data"]
            if p.get("password"):
                inst.password_set = True
            if p.get("key_ids"):
                repo.set_instance_keys(instance_id, p["key_ids"])

        self.finish_job(handle, "RUNNING" if was_running else "STOPPED", extra)

    def _reset_spec(self, instance_id: str, p: dict) -> VmSpec:
        """The VM a reinstalled instance boots as: its new key pairs, hostname and user data (the rows
        are written when the job ends, after this boot)."""
        with self.db.read() as repo:
            row = repo.get_instance(instance_id)
            spec = self.vm_spec(repo, row)
            if p.get("key_ids"):
                spec.ssh_keys = [k.public_key for k in repo.key_pairs_of(row.owner_uin, p["key_ids"])]
        if p.get("hostname"):
            spec.hostname = p["hostname"]
        if p.get("user_data"):
            spec.user_data = base64.b64decode(p["user_data"])
        return spec

    def run_resize(self, handle: JobHandle) -> None:
        """Grow the disks through the driver when the VM exists (a running VM needs the driver's
        ``supports_online_resize``, else it is stopped for the resize and started again)."""
        p = handle.payload
        instance_id = handle.view.resource_id
        info = self.driver.info(instance_id)
        restart = info.power_state == PowerState.RUNNING and not self.driver.supports_online_resize
        if restart:
            self.driver.power_off(instance_id, hard=False)
        for disk_id, size in p["sizes"].items():
            position = p.get("positions", {}).get(disk_id)
            if info.exists and position is not None:
                self.driver.resize_disk(instance_id, rules.device_name(position), size * GIB)
            else:
                self.volumes.resize_disk(p["region"], disk_id, size)
        if restart:
            self.start_vm(instance_id)

        def extra(repo: Repo, row: Instance):
            for disk in repo.disks_of_instance(instance_id):
                if disk.disk_id in p["sizes"]:
                    disk.size_gib, disk.state = p["sizes"][disk.disk_id], "ATTACHED"

        self.finish_job(handle, None, extra)

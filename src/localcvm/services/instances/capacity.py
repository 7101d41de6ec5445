"""The host's capacity: the vCPUs and memory the instances of this localcvm may hold together.

An operator of a small private cloud sets it (``LOCALCVM_HOST_VCPUS``, ``LOCALCVM_HOST_MEMORY_GIB``;
0 = no limit, the default). RunInstances places its instances under one lock: when none of them
fits, the request is refused (``ResourceInsufficient.SpecifiedInstanceType``, the code RunInstances
documents for a type it cannot supply); when only some fit, the request succeeds, as the real
service's does, and the instances that do not fit end ``LAUNCH_FAILED`` (``LatestOperationState``
``FAILED`` with the reason in ``LatestOperationErrorMsg``) while the others start: RunInstances is
asynchronous, and the API documents ``LAUNCH_FAILED`` as how a client learns that an instance of
the batch could not be created.

Every instance holds its type's resources from RunInstances until it is terminated (a stopped
one keeps them, as a stopped instance keeps its host in the real service), except one whose
launch failed. ResetInstancesType to a larger type is refused the same way when the host has no
room for what the new type adds.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...store.repo import Repo
from ...store.repo_compute import resources_held
from .. import errors
from .types import InstanceType

RELEASED = ("LAUNCH_FAILED", "SHUTDOWN", "TERMINATING")


@dataclass(frozen=True)
class HostCapacity:
    vcpus: int = 0
    memory_gib: int = 0

    @property
    def limited(self) -> bool:
        return self.vcpus > 0 or self.memory_gib > 0

    def place(self, repo: Repo, itype: InstanceType, count: int) -> int:
        """How many of ``count`` new ``itype`` instances fit now (the rest fail their launch);
        refuses the request when none does. Call in the transaction that adds them."""
        if not self.limited:
            return count
        repo.lock("host-capacity")
        cpu, memory = resources_held(repo, RELEASED)
        fit = count
        if self.vcpus:
            fit = min(fit, max(0, self.vcpus - cpu) // itype.cpu)
        if self.memory_gib:
            fit = min(fit, int(max(0, self.memory_gib - memory) // max(itype.memory_gib, 1)))
        if fit == 0:
            raise errors.ResourceInsufficientSpecifiedInstanceType(self.why(itype, cpu, memory))
        return fit

    def check_change(self, repo: Repo, current: InstanceType, wanted: InstanceType) -> None:
        """ResetInstancesType to ``wanted``: the instance holds ``current``'s resources already, so
        only what the new type adds must fit (ResetInstancesType documents
        ``ResourceInsufficient.SpecifiedInstanceType`` too). Call in the transaction that accepts it."""
        more_cpu, more_memory = wanted.cpu - current.cpu, wanted.memory_gib - current.memory_gib
        if not self.limited or (more_cpu <= 0 and more_memory <= 0):
            return
        repo.lock("host-capacity")
        cpu, memory = resources_held(repo, RELEASED)
        if (self.vcpus and more_cpu > 0 and cpu + more_cpu > self.vcpus) or \
                (self.memory_gib and more_memory > 0 and memory + more_memory > self.memory_gib):
            raise errors.ResourceInsufficientSpecifiedInstanceType(
                f"The host has no room to grow an instance from {current.instance_type} to {wanted.instance_type}: "
                f"{self.held(cpu, memory)}")

    def overflow(self, itype: InstanceType, fit: int, count: int) -> str:
        """LatestOperationErrorMsg of an instance of the batch that did not fit."""
        return (f"ResourceInsufficient.SpecifiedInstanceType: the host had room for {fit} of the {count} "
                f"{itype.instance_type} instances of the request (host capacity: {self.vcpus or 'unlimited'} vCPUs, "
                f"{self.memory_gib or 'unlimited'} GiB).")

    def why(self, itype: InstanceType, cpu: int, memory: int) -> str:
        return (f"The host has no room for a {itype.instance_type} ({itype.cpu} vCPU, {itype.memory_gib} GiB): "
                f"{self.held(cpu, memory)}")

    def held(self, cpu: int, memory: int) -> str:
        return (f"instances hold {cpu} of {self.vcpus or 'unlimited'} vCPUs and {memory} of "
                f"{self.memory_gib or 'unlimited'} GiB.")

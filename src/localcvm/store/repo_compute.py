"""Queries of the compute side: public IP addresses (``PublicIp``: allocation in the range, release)
and the instances in a state (for the QEMU driver's reconciliation)."""

from __future__ import annotations

import ipaddress

from sqlalchemy import delete, func, select

from .models import Instance
from .models_publicip import PublicIp
from .repo import Repo, utcnow

__all__ = ["PublicIpExhausted", "PublicIps", "instance_ids_in_state"]


class PublicIpExhausted(Exception):
    """Every address of the range is held."""


class PublicIps:
    """Public addresses through an open ``Repo`` (call inside its write transaction)."""

    def __init__(self, repo: Repo):
        self.repo = repo

    def allocate(self, instance_id: str, network: ipaddress.IPv4Network) -> str:
        """The lowest free host address of ``network`` for ``instance_id`` (its own when it holds one).
        Allocations serialise on a named lock; the primary key makes a duplicate impossible anyway."""
        held = self.of(instance_id)
        if held is not None:
            return held
        self.repo.lock("public-ip-allocation")
        taken = set(self.repo.session.scalars(select(PublicIp.ip)))
        for address in network.hosts():
            ip = str(address)
            if ip not in taken:
                self.repo.session.add(PublicIp(ip=ip, instance_id=instance_id, created_at=utcnow()))
                self.repo.session.flush()
                return ip
        raise PublicIpExhausted(f"every address of {network} is in use")

    def of(self, instance_id: str) -> str | None:
        return self.repo.session.scalar(select(PublicIp.ip).where(PublicIp.instance_id == instance_id))

    def release(self, instance_id: str) -> None:
        self.repo.session.execute(delete(PublicIp).where(PublicIp.instance_id == instance_id))


def instance_ids_in_state(repo: Repo, state: str) -> list[str]:
    return list(repo.session.scalars(select(Instance.instance_id).where(Instance.state == state)))


def resources_held(repo: Repo, released_states: tuple[str, ...]) -> tuple[int, int]:
    """(vCPUs, GiB of memory) of every instance on this host whose state is not one of ``released_states``."""
    cpu, memory = repo.session.execute(
        select(func.coalesce(func.sum(Instance.cpu), 0), func.coalesce(func.sum(Instance.memory_gib), 0))
        .where(Instance.state.not_in(released_states))
    ).one()
    return int(cpu), int(memory)

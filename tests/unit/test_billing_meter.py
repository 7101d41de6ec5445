"""The meter in process: segments open and close with the rows' state in the same transaction, a
rolled-back change leaves none, a bulk DELETE closes them."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from localcvm.store.models import Account, Disk, Instance
from localcvm.store.models_billing import UsageSegment


def _open(services, resource_id: str) -> list[tuple[str, str]]:
    with services.db.read() as repo:
        q = select(UsageSegment).where(UsageSegment.resource_id == resource_id, UsageSegment.ended_at.is_(None))
        return sorted((s.item, s.sku) for s in repo.session.scalars(q))


def _instance(**kw) -> Instance:
    now = datetime(2026, 1, 1)
    values = dict(instance_id="ins-meter001", owner_uin="100", region="ap-singapore", zone="ap-singapore-1",
                  instance_type="S5.MEDIUM4", cpu=2, memory_gib=4, name="m", image_id="img-7t4b5xrv",
                  os_type="Windows", charge_type="POSTPAID_BY_HOUR", state="PENDING", latest_operation="RunInstances",
                  uuid="u", created_at=now)
    return Instance(**{**values, **kw})


def test_segments_follow_the_state_in_the_same_transaction(services):
    with services.db.write() as repo:
        repo.add(Account(uin="100", app_id=100, name="meter"))
        repo.add(_instance())
        repo.add(Disk(disk_id="disk-meter001", owner_uin="100", region="ap-singapore", zone="ap-singapore-1",
                      usage="SYSTEM_DISK", disk_type="CLOUD_PREMIUM", size_gib=50, state="ATTACHED",
                      instance_id="ins-meter001", created_at=datetime(2026, 1, 1)))
    assert _open(services, "ins-meter001") == []  # charging starts when the launch has finished
    assert _open(services, "disk-meter001") == [("system_disk", "CLOUD_PREMIUM")]
    with services.db.write() as repo:
        repo.get_instance("ins-meter001").state = "RUNNING"
    assert _open(services, "ins-meter001") == [("compute", "S5.MEDIUM4"), ("licence", "Windows")]

    with pytest.raises(RuntimeError):  # a rolled-back stop writes no segment and closes none
        with services.db.write() as repo:
            row = repo.get_instance("ins-meter001")
            row.state, row.stopped_mode = "STOPPED", "STOP_CHARGING"
            repo.session.flush()
            raise RuntimeError("crash")
    assert _open(services, "ins-meter001") == [("compute", "S5.MEDIUM4"), ("licence", "Windows")]

    with services.db.write() as repo:
        row = repo.get_instance("ins-meter001")
        row.state, row.stopped_mode = "STOPPED", "STOP_CHARGING"
    assert _open(services, "ins-meter001") == []
    with services.db.write() as repo:  # a change that prices nothing touches nothing
        repo.get_instance("ins-meter001").name = "renamed"
    with services.db.write() as repo:
        repo.get_disk("disk-meter001").size_gib = 60
        repo.delete_instance("ins-meter001")
    with services.db.read() as repo:
        disk = sorted((s.quantity, s.ended_at is None) for s in repo.session.scalars(
            select(UsageSegment).where(UsageSegment.resource_id == "disk-meter001")))
        assert disk == [("50", False), ("60", True)]  # the resize closed one and opened the next
        segments = list(repo.session.scalars(select(UsageSegment).where(UsageSegment.resource_id == "ins-meter001")))
    assert len(segments) == 2 and all(s.ended_at is not None for s in segments)
    with services.db.write() as repo:
        repo.delete_disk("disk-meter001")
    assert _open(services, "disk-meter001") == []

"""The usage meter: segments of billable use, written in the same transaction as the state change
that starts, changes or stops them, so they are exact across restarts and a kill -9.

Every state change of a metered resource is an ORM change of its row (an instance's ``state`` or
``stopped_mode``, a disk created, resized or deleted, an image's or snapshot's manifest written or
the row deleted) inside a ``Database.write()`` transaction. The meter watches those changes on the
session (``before_flush`` for changed rows, ``do_orm_execute`` for DELETE statements) and, just
before the transaction commits, reconciles each touched resource: what should be charging now
(``charges``) against its open segments — a segment no longer wanted is closed at ``clock.now()``,
a wanted one missing is opened. A rolled-back transaction rolls its segments back with it, and a
committed one has them: nothing is counted twice or lost.

As in the real service: a pay-as-you-go instance is charged from RUNNING until it is terminated,
except while STOPPED with ``StoppedMode`` ``STOP_CHARGING`` (its disks are still charged); Windows
outside mainland China adds a licence per core-hour; a marketplace image adds its provider's hourly
price; ``BANDWIDTH_POSTPAID_BY_HOUR`` charges the bandwidth cap per Mbps-hour; pay-as-you-go disks
are charged per GB-hour from creation to deletion; snapshot storage per GB-hour of what the
snapshot overview bills (the part beyond the free allowance).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from ...store.db import Database
from ...store.models import Disk, Image, ImageDisk, Instance, Snapshot
from ...store.models_billing import UsageSegment
from ...store.repo import Repo
from ..instances.types import TYPES
from . import overview
from .inquiry import instance_row_hour, prepaid
from .prices import PriceList

_KEY = "localcvm.billing.touched"
_METERS: "weakref.WeakKeyDictionary[object, Meter]" = weakref.WeakKeyDictionary()
# the instance states in which a pay-as-you-go instance is not charged
_NOT_CHARGED = ("LAUNCH_FAILED", "SHUTDOWN", "")
HOURLY = ("POSTPAID_BY_HOUR", "SPOTPAID")
QUANTITY_STEP = Decimal("0.000001")
RATE_STEP = Decimal("0.000000000001")


@dataclass(frozen=True)
class Charge:
    """One item a resource should be charging for now."""

    product: str
    item: str
    sku: str
    quantity: Decimal
    unit_price: Decimal
    pay_mode: str = "POSTPAID_BY_HOUR"

    def __post_init__(self) -> None:
        # stored as text of bounded length: quantities to 1e-6 (GiB), rates to 1e-12 per hour (a per-month
        # price divided into hours does not end)
        object.__setattr__(self, "quantity", self.quantity.quantize(QUANTITY_STEP).normalize())
        object.__setattr__(self, "unit_price", self.unit_price.quantize(RATE_STEP).normalize())

    def key(self) -> tuple:
        return (self.product, self.item, self.sku, self.pay_mode, self.quantity.normalize(), self.unit_price.normalize())


@dataclass
class Touched:
    instances: set[str] = field(default_factory=set)
    disks: set[str] = field(default_factory=set)
    images: set[str] = field(default_factory=set)
    storage: set[tuple[str, str]] = field(default_factory=set)  # (owner, region)
    purchases: set[str] = field(default_factory=set)  # new prepaid instances

    def __bool__(self) -> bool:
        return bool(self.instances or self.disks or self.images or self.storage or self.purchases)


def segment_key(s: UsageSegment) -> tuple:
    return (s.product, s.item, s.sku, s.pay_mode, Decimal(s.quantity).normalize(), Decimal(s.unit_price).normalize())


class Meter:
    def __init__(self, clock, prices: PriceList, catalogue, free_gib: float):
        self.clock, self.prices, self.catalogue, self.free_gib = clock, prices, catalogue, free_gib
        self.db: Database | None = None

    def install(self, db: Database) -> None:
        """Meter every write made through ``db`` (its engine and its writer share one pool)."""
        self.db = db
        _METERS[db.engine.pool] = self

    # --- what should be charging -------------------------------------------------------------------
    def instance_charges(self, row: Instance) -> list[Charge]:
        if row.charge_type not in HOURLY or not _charged(row):
            return []
        itype = TYPES.get(row.instance_type)
        p = self.prices.for_region(row.region)
        out = []
        if itype is not None:
            out.append(Charge("cvm", "compute", row.instance_type, Decimal(1), p.instance_hour(itype), row.charge_type))
        licence = p.licence_core_hour(row.os_type)
        if licence:
            out.append(Charge("cvm", "licence", "Windows", Decimal(row.cpu), licence, row.charge_type))
        image = self.catalogue.get(row.image_id) if row.image_id in self.catalogue else None
        fee = p.image_hour(image) if image is not None else Decimal(0)
        if fee:
            out.append(Charge("cvm", "marketplace", row.image_id, Decimal(1), fee, row.charge_type))
        if row.internet_charge_type == "BANDWIDTH_POSTPAID_BY_HOUR" and row.internet_max_bandwidth_out:
            out.append(Charge("cvm", "bandwidth", row.internet_charge_type, Decimal(row.internet_max_bandwidth_out),
                              p.bandwidth_unit(row.internet_charge_type)))
        return out

    def disk_charges(self, row: Disk) -> list[Charge]:
        if row.charge_type not in HOURLY:
            return []
        p = self.prices.for_region(row.region)
        system = row.usage == "SYSTEM_DISK"
        return [Charge("cvm" if system else "cbs", "system_disk" if system else "disk", row.disk_type,
                       Decimal(row.size_gib), p.disk_gib_hour(row.disk_type), row.charge_type)]

    def storage_charges(self, session: Session, owner: str, region: str) -> list[Charge]:
        r = self.prices.regions.find(region)
        view = overview.overview(session, owner, region, bool(r and r.mainland), self.free_gib)
        if not view.billed_gib:
            return []
        return [Charge("cbs", "snapshot", "storage", view.billed_gib, self.prices.for_region(region).snapshot_gib_hour())]

    # --- reconciling ------------------------------------------------------------------------------
    def reconcile(self, session: Session, touched: Touched) -> None:
        now = self.clock.now().replace(microsecond=0)  # metered to the second
        for instance_id in sorted(touched.instances):  # read from the database: a bulk DELETE leaves no row
            row = session.scalars(select(Instance).where(Instance.instance_id == instance_id)).one_or_none()
            self._settle(session, instance_id, row, self.instance_charges(row) if row else [], now)
        for disk_id in sorted(touched.disks):
            row = session.scalars(select(Disk).where(Disk.disk_id == disk_id)).one_or_none()
            self._settle(session, disk_id, row, self.disk_charges(row) if row else [], now)
        for instance_id in sorted(touched.purchases):
            self._purchase(session, instance_id, now)
        storage = set(touched.storage)
        if touched.images:
            q = select(Image.owner_uin, Image.region).where(Image.image_id.in_(touched.images), Image.owner_uin.is_not(None))
            storage.update((o, r) for o, r in session.execute(q))
        for owner, region in sorted(storage):
            # an account's storage in a region is one figure that concurrent transactions may change:
            # they queue here (PostgreSQL; SQLite's writers queue anyway), each reading the others' result
            Repo(session, self.db).lock(f"meter:{owner}:{region}")
            rid = storage_resource(region)
            self._settle(session, rid, None, self.storage_charges(session, owner, region), now, owner=owner, region=region)

    def _purchase(self, session: Session, instance_id: str, now: datetime) -> None:
        """A new prepaid instance is charged its period at once, with its disks, as RunInstances with
        PREPAID deducts the price InquiryPriceRunInstances quotes (a one-off segment: ``quantity``
        months at ``unit_price`` each)."""
        row = session.scalars(select(Instance).where(Instance.instance_id == instance_id)).one_or_none()
        if row is None or row.expired_at is None or row.instance_type not in TYPES:
            return
        months = max(1, round((row.expired_at - row.created_at).days / 30))
        p = self.prices.for_region(row.region)
        disks = list(session.scalars(select(Disk).where(Disk.instance_id == instance_id)))
        price = prepaid(p, instance_row_hour(p, self.catalogue, row, disks=disks), months)
        session.add(UsageSegment(
            owner_uin=row.owner_uin, region=row.region, zone=row.zone, resource_id=instance_id, resource_name=row.name,
            parent_id="", product="cvm", item="prepaid", sku=row.instance_type, pay_mode="PREPAID",
            quantity=str(months), unit_price=f"{price.discounted / months:f}", currency=self.prices.currency,
            started_at=now, ended_at=now,
        ))

    def _settle(self, session: Session, resource_id: str, row, wanted: list[Charge], now: datetime, *,
                owner: str | None = None, region: str | None = None) -> None:
        q = select(UsageSegment).where(UsageSegment.resource_id == resource_id, UsageSegment.ended_at.is_(None))
        if owner is not None:
            q = q.where(UsageSegment.owner_uin == owner)
        open_ = list(session.scalars(q))
        want = {c.key(): c for c in wanted}
        have = set()
        for seg in open_:
            k = segment_key(seg)
            if k in want and k not in have:
                have.add(k)
            else:
                seg.ended_at = max(now, seg.started_at)
        for k, c in want.items():
            if k in have:
                continue
            session.add(UsageSegment(
                owner_uin=owner or row.owner_uin, region=region or row.region, zone=getattr(row, "zone", "") or "",
                resource_id=resource_id, resource_name=getattr(row, "name", "") or "",
                parent_id=(row.instance_id or "") if isinstance(row, Disk) and row.usage == "SYSTEM_DISK" else "",
                product=c.product, item=c.item,
                sku=c.sku, pay_mode=c.pay_mode, quantity=f"{c.quantity:f}", unit_price=f"{c.unit_price:f}",
                currency=self.prices.currency, started_at=now, ended_at=None,
            ))


def storage_resource(region: str) -> str:
    """The resource ID snapshot storage is billed under: one per account and region."""
    return f"snapshot-storage-{region}"


def _charged(row: Instance) -> bool:
    if row.state in _NOT_CHARGED:
        return False
    if row.state == "PENDING" and row.latest_operation == "RunInstances":
        return False  # charging starts when the launch has finished
    if row.state in ("STOPPED", "STARTING") and row.stopped_mode == "STOP_CHARGING":
        return False
    return True


# --- session events (process-wide; each session finds its meter by its engine) -----------------------
def _meter_of(session: Session) -> Meter | None:
    bind = session.bind
    return _METERS.get(bind.pool) if bind is not None else None


def _touched(session: Session) -> Touched:
    t = session.info.get(_KEY)
    if t is None:
        t = session.info[_KEY] = Touched()
    return t


# the columns whose change can change what a row charges (a new or deleted row always can)
_PRICED = {
    Instance: ("state", "stopped_mode", "instance_type", "charge_type", "image_id", "os_type", "cpu",
               "internet_charge_type", "internet_max_bandwidth_out"),
    Disk: ("size_gib", "disk_type", "charge_type", "usage", "instance_id"),
    Image: ("state", "owner_uin", "kind"),
    ImageDisk: ("manifest", "snapshot_id"),
    Snapshot: ("manifest", "state"),
}


def _changed(obj) -> bool:
    names = _PRICED.get(type(obj))
    if names is None:
        return False
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in names)


def _note(t: Touched, obj) -> None:
    if isinstance(obj, Instance):
        t.instances.add(obj.instance_id)
    elif isinstance(obj, Disk):
        t.disks.add(obj.disk_id)
    elif isinstance(obj, Image):
        if obj.owner_uin:
            t.storage.add((obj.owner_uin, obj.region))
    elif isinstance(obj, ImageDisk):
        t.images.add(obj.image_id)
    elif isinstance(obj, Snapshot):
        t.storage.add((obj.owner_uin, obj.region))


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context, instances) -> None:
    if _meter_of(session) is None:
        return
    t = _touched(session)
    for obj in (*session.new, *session.deleted):
        _note(t, obj)
    for obj in session.new:
        if isinstance(obj, Instance) and obj.charge_type == "PREPAID":
            t.purchases.add(obj.instance_id)
    for obj in session.dirty:
        if _changed(obj):
            _note(t, obj)


_DELETED_KEYS = {
    Instance.__table__: lambda w: (select(Instance.instance_id).where(w), "instances"),
    Disk.__table__: lambda w: (select(Disk.disk_id).where(w), "disks"),
    ImageDisk.__table__: lambda w: (select(ImageDisk.image_id).where(w), "images"),
    Image.__table__: lambda w: (select(Image.owner_uin, Image.region).where(w, Image.owner_uin.is_not(None)), "storage"),
    Snapshot.__table__: lambda w: (select(Snapshot.owner_uin, Snapshot.region).where(w), "storage"),
}


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state) -> None:
    """A DELETE of metered rows: note which resources it removes (read with its own WHERE clause,
    before it runs)."""
    if not state.is_delete or _meter_of(state.session) is None:
        return
    stmt = state.statement
    keys = _DELETED_KEYS.get(getattr(stmt, "table", None))
    where = stmt.whereclause
    if keys is None or where is None:
        return
    query, kind = keys(where)
    t = _touched(state.session)
    with state.session.no_autoflush:
        rows = state.session.execute(query, state.parameters or {}).all()
    target = getattr(t, kind)
    target.update(tuple(r) if kind == "storage" else r[0] for r in rows)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    meter = _meter_of(session)
    if meter is None:
        return
    for _ in range(3):  # the flush may touch more (a flush of the meter's own rows touches nothing)
        session.flush()
        t = session.info.pop(_KEY, None)
        if not t:
            return
        meter.reconcile(session, t)

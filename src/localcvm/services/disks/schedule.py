"""When an auto-snapshot policy is due: its ``Policy`` rules (pure functions, no I/O).

As the CBS API documents ``Policy``: ``Hour`` (0–23, required) are the hours of the day it takes
snapshots; the days are ``DayOfWeek`` (0 = Sunday … 6 = Saturday), or ``DayOfMonth`` (1–31; a month
without that day is skipped), or ``IntervalDays`` (1–365: every n days, counted from the day the policy
was created); a rule naming no days runs every day. The hours are China Standard Time (UTC+8), as the
real service's schedule is; slots are returned as naive UTC datetimes, as the database stores times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .. import errors

TZ = timedelta(hours=8)  # the schedule's hours are UTC+8
MAX_CATCH_UP = 24  # slots a policy takes at most in one pass (after downtime, or a clock moved far)


@dataclass(frozen=True)
class PolicyRule:
    """One item of the API's ``Policy`` list."""

    hours: tuple[int, ...]
    days_of_week: tuple[int, ...] = ()
    days_of_month: tuple[int, ...] = ()
    interval_days: int | None = None

    def to_json(self) -> dict:
        return {"Hour": list(self.hours), "DayOfWeek": list(self.days_of_week),
                "DayOfMonth": list(self.days_of_month), "IntervalDays": self.interval_days}

    @classmethod
    def from_json(cls, obj: dict) -> PolicyRule:
        return cls(tuple(obj.get("Hour") or ()), tuple(obj.get("DayOfWeek") or ()), tuple(obj.get("DayOfMonth") or ()),
                   obj.get("IntervalDays"))


def check_rules(rules: list[PolicyRule]) -> list[PolicyRule]:
    """The rules, once each is valid (``MissingParameter``, ``InvalidParameterValue``)."""
    if not rules:
        raise errors.MissingParameter("Policy must hold at least one rule (Hour, and DayOfWeek, DayOfMonth or IntervalDays).")
    for i, r in enumerate(rules):
        if not r.hours:
            raise errors.MissingParameter(f"Policy.{i}.Hour must name at least one hour (0-23).")
        ranges = (("Hour", r.hours, 0, 23), ("DayOfWeek", r.days_of_week, 0, 6), ("DayOfMonth", r.days_of_month, 1, 31))
        for name, values, low, high in ranges:
            bad = [v for v in values if not low <= v <= high]
            if bad:
                raise errors.InvalidParameterValue(f"Policy.{i}.{name} takes {low}-{high}, got {bad[0]}.")
        if r.interval_days is not None and not 1 <= r.interval_days <= 365:
            raise errors.InvalidParameterValue(f"Policy.{i}.IntervalDays takes 1-365, got {r.interval_days}.")
        if sum(bool(x) for x in (r.days_of_week, r.days_of_month, r.interval_days)) > 1:
            raise errors.InvalidParameterValue(f"Policy.{i}: give one of DayOfWeek, DayOfMonth and IntervalDays.")
    return rules


def _day_matches(rule: PolicyRule, local: datetime, created_local: datetime) -> bool:
    if rule.days_of_week:
        return (local.weekday() + 1) % 7 in rule.days_of_week  # Python's Monday = 0; the API's Sunday = 0
    if rule.days_of_month:
        return local.day in rule.days_of_month
    if rule.interval_days:
        return (local.date() - created_local.date()).days % rule.interval_days == 0
    return True


def _is_slot(rules: list[PolicyRule], utc: datetime, created: datetime) -> bool:
    local, created_local = utc + TZ, created + TZ
    return any(local.hour in r.hours and _day_matches(r, local, created_local) for r in rules)


def slots_between(rules: list[PolicyRule], created: datetime, after: datetime, until: datetime) -> list[datetime]:
    """The slots in (``after``, ``until``], oldest first, at most the last ``MAX_CATCH_UP`` of them."""
    start = max(after, until - timedelta(days=400))
    hour = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    out: list[datetime] = []
    while hour <= until:
        if _is_slot(rules, hour, created):
            out.append(hour)
        hour += timedelta(hours=1)
    return out[-MAX_CATCH_UP:]


def next_slot(rules: list[PolicyRule], created: datetime, after: datetime) -> datetime | None:
    """The first slot after ``after`` (within 400 days; None if the rules never fire)."""
    hour = after.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    for _ in range(400 * 24):
        if _is_slot(rules, hour, created):
            return hour
        hour += timedelta(hours=1)
    return None

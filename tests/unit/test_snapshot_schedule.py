"""The auto-snapshot schedule (services/disks/schedule.py): the CBS API's Policy rules, hours in UTC+8."""

from __future__ import annotations

from datetime import datetime

import pytest

from localcvm.services import errors
from localcvm.services.disks.schedule import MAX_CATCH_UP, PolicyRule, check_rules, next_slot, slots_between

CREATED = datetime(2026, 3, 2, 0, 30)  # a Monday, 08:30 in UTC+8


def test_hours_are_china_standard_time():
    rules = [PolicyRule(hours=(9,))]
    assert next_slot(rules, CREATED, CREATED) == datetime(2026, 3, 2, 1, 0)  # 09:00 UTC+8
    assert slots_between(rules, CREATED, CREATED, datetime(2026, 3, 5, 2)) == [
        datetime(2026, 3, d, 1) for d in (2, 3, 4, 5)]


def test_days_of_week_month_and_interval():
    sunday = [PolicyRule(hours=(0,), days_of_week=(0,))]  # 00:00 UTC+8 on Sundays = 16:00 UTC on Saturdays
    assert next_slot(sunday, CREATED, CREATED) == datetime(2026, 3, 7, 16, 0)
    fifth = [PolicyRule(hours=(12,), days_of_month=(31,))]  # April has no 31st: skipped
    assert [s.month for s in slots_between(fifth, CREATED, CREATED, datetime(2026, 6, 1))] == [3, 5]
    every_third = [PolicyRule(hours=(10,), interval_days=3)]
    assert [s.day for s in slots_between(every_third, CREATED, CREATED, datetime(2026, 3, 12))] == [2, 5, 8, 11]


def test_catch_up_is_bounded_and_excludes_the_last_slot_taken():
    hourly = [PolicyRule(hours=tuple(range(24)))]
    slots = slots_between(hourly, CREATED, datetime(2026, 3, 2, 1), datetime(2026, 3, 2, 6))
    assert slots == [datetime(2026, 3, 2, h) for h in (2, 3, 4, 5, 6)]
    assert len(slots_between(hourly, CREATED, CREATED, datetime(2026, 4, 1))) == MAX_CATCH_UP


@pytest.mark.parametrize("rule, code", [
    (PolicyRule(hours=()), "MissingParameter"), (PolicyRule(hours=(24,)), "InvalidParameterValue"),
    (PolicyRule(hours=(1,), days_of_week=(7,)), "InvalidParameterValue"),
    (PolicyRule(hours=(1,), days_of_month=(0,)), "InvalidParameterValue"),
    (PolicyRule(hours=(1,), interval_days=366), "InvalidParameterValue"),
    (PolicyRule(hours=(1,), days_of_week=(1,), interval_days=2), "InvalidParameterValue"),
])
def test_bad_rules(rule, code):
    with pytest.raises(errors.ApiError) as err:
        check_rules([rule])
    assert err.value.code == code

"""Instances: launch from an image, the power operations, reset and resize, their jobs and the
instance life cycle.

Public surface::

    InstanceService            the service (own, own_many, describe, run, start, stop, ..., jobs)
    InstanceView, InstanceDisk what DescribeInstances shows
    lifecycle                  the state machine: check_operation, begin_operation, finish/fail
    rules                      the documented parameter rules; DISK_TYPES, device_name
    types                      the instance type catalogue
    requests                   the typed arguments api/ builds (RunRequest, StopRequest, ...)
"""

from __future__ import annotations

from . import lifecycle, requests, rules, types
from .rules import DISK_TYPES, MAX_DATA_DISKS, SYSTEM_DISK_MAX, device_name
from .service import BaseSource, InstanceService
from .views import InstanceDisk, InstanceView

__all__ = [
    "DISK_TYPES", "MAX_DATA_DISKS", "SYSTEM_DISK_MAX", "BaseSource", "InstanceDisk", "InstanceService",
    "InstanceView", "device_name", "lifecycle", "requests", "rules", "types",
]

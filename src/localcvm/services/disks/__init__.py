"""CBS cloud disks and snapshots: ``DiskService`` and the views it returns."""

from __future__ import annotations

from .schedule import PolicyRule
from .service import CreateDisksRequest, DiskService
from .views import BoundImage, DiskView, SnapshotView

__all__ = ["BoundImage", "CreateDisksRequest", "DiskService", "DiskView", "PolicyRule", "SnapshotView"]

"""Billing: the price list (``prices.py``), the Inquiry* actions (``inquiry.py``), the usage meter
(``meter.py``), CBS snapshot storage (``overview.py``), bills (``bills.py``) and ``BillingService``."""

from __future__ import annotations

from .overview import SnapshotOverview
from .service import BillingService
from .views import Balance, BillRow, Component, ItemPrice, Quote, Summary

__all__ = ["Balance", "BillRow", "BillingService", "Component", "ItemPrice", "Quote", "SnapshotOverview", "Summary"]

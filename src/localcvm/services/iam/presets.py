"""CAM's preset (system) policies, as data: ListPolicies shows them with Type 2 next to custom ones
(Type 1), and they attach like any policy. Their ids are small fixed numbers; custom ones start at
FIRST_CUSTOM_POLICY_ID."""

from __future__ import annotations

import json
from dataclasses import dataclass

FIRST_CUSTOM_POLICY_ID = 200000001


@dataclass(frozen=True)
class Preset:
    policy_id: int
    name: str
    description: str
    service_type: str
    document: str


def _doc(*actions: str) -> str:
    return json.dumps({"version": "2.0", "statement": [{"effect": "allow", "action": list(actions), "resource": "*"}]},
                      separators=(",", ":"))


PRESETS: tuple[Preset, ...] = (
    Preset(1, "AdministratorAccess", "Full access to every service and resource, CAM included.", "", _doc("*")),
    Preset(2, "ReadOnlyAccess", "Read-only access to every service (Describe*, List*, Get*).", "",
           _doc("*:Describe*", "*:List*", "*:Get*")),
    Preset(3, "QcloudCVMFullAccess", "Full access to Cloud Virtual Machine (CVM), its disks and networks.", "cvm",
           _doc("cvm:*", "cbs:*", "vpc:*", "tag:*")),
    Preset(4, "QcloudCVMReadOnlyAccess", "Read-only access to Cloud Virtual Machine (CVM).", "cvm",
           _doc("cvm:Describe*", "cbs:Describe*", "vpc:Describe*")),
    Preset(5, "QcloudCBSFullAccess", "Full access to Cloud Block Storage (CBS).", "cbs", _doc("cbs:*")),
    Preset(6, "QcloudCBSReadOnlyAccess", "Read-only access to Cloud Block Storage (CBS).", "cbs", _doc("cbs:Describe*")),
    Preset(7, "QcloudCamFullAccess", "Full access to Cloud Access Management (CAM).", "cam", _doc("cam:*")),
    Preset(8, "QcloudCamReadOnlyAccess", "Read-only access to Cloud Access Management (CAM).", "cam",
           _doc("cam:Get*", "cam:List*")),
    Preset(9, "QcloudVPCFullAccess", "Full access to Virtual Private Cloud (VPC).", "vpc", _doc("vpc:*")),
    Preset(10, "QcloudTAGFullAccess", "Full access to Tag.", "tag", _doc("tag:*")),
)
BY_ID = {p.policy_id: p for p in PRESETS}

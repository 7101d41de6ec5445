"""The instance type catalogue (families, sizes) and where each type is sold."""

from __future__ import annotations

from dataclasses import dataclass

from ..regions import RegionCatalogue


@dataclass(frozen=True)
class InstanceType:
    instance_type: str
    family: str
    type_name: str
    cpu: int
    memory_gib: int
    gpu: int = 0
    gpu_type: str = ""
    arch: str = "x86_64"
    cpu_type: str = "Intel Xeon Cascade Lake 8255C(2.5 GHz/3.1 GHz)"
    price_hourly: float = 0.0


_SIZES = {  # size -> (cpu, memory GiB)
    "SMALL1": (1, 1), "SMALL2": (1, 2), "SMALL4": (1, 4), "MEDIUM2": (2, 2), "MEDIUM4": (2, 4), "MEDIUM8": (2, 8),
    "MEDIUM16": (2, 16), "LARGE8": (4, 8), "LARGE16": (4, 16), "LARGE32": (4, 32), "2XLARGE16": (8, 16),
    "2XLARGE32": (8, 32), "2XLARGE64": (8, 64), "4XLARGE32": (16, 32), "4XLARGE64": (16, 64), "8XLARGE64": (32, 64),
}
_FAMILIES = {
    # family -> (type name, sizes, cpu type, price per vCPU-hour, memory price per GiB-hour)
    "S5": ("标准型S5", ["SMALL1", "SMALL2", "SMALL4", "MEDIUM4", "MEDIUM8", "LARGE8", "LARGE16", "2XLARGE16", "2XLARGE32", "4XLARGE32", "4XLARGE64", "8XLARGE64"],
           "Intel Xeon Cascade Lake 8255C(2.5 GHz/3.1 GHz)"),
    "S6": ("标准型S6", ["SMALL1", "SMALL2", "MEDIUM4", "MEDIUM8", "LARGE8", "LARGE16", "2XLARGE16", "2XLARGE32"],
           "Intel Xeon Ice Lake(2.7 GHz/3.3 GHz)"),
    "SA2": ("标准型SA2", ["SMALL1", "SMALL2", "SMALL4", "MEDIUM4", "MEDIUM8", "LARGE8", "LARGE16", "2XLARGE16", "2XLARGE32"],
            "AMD EPYC ROME(2.6 GHz/3.3 GHz)"),
    "SA3": ("标准型SA3", ["MEDIUM4", "MEDIUM8", "LARGE8", "LARGE16", "2XLARGE16", "2XLARGE32"], "AMD EPYC Milan(2.55 GHz/3.5 GHz)"),
    "M5": ("内存型M5", ["MEDIUM16", "LARGE32", "2XLARGE64"], "Intel Xeon Cascade Lake 8255C(2.5 GHz/3.1 GHz)"),
    "C5": ("计算型C5", ["MEDIUM4", "LARGE8", "2XLARGE16", "4XLARGE32"], "Intel Xeon Cascade Lake 6231C(3.2 GHz/3.6 GHz)"),
    "SR1": ("标准型SR1", ["MEDIUM4", "LARGE8", "2XLARGE16"], "Ampere Altra(2.8 GHz)"),
    "GN7": ("GPU计算型GN7", ["2XLARGE32"], "Intel Xeon Cascade Lake 8255C(2.5 GHz/3.1 GHz)"),
}
# families sold only in some zones (everything else: every zone)
_ZONES_ONLY = {
    "SR1": {"ap-guangzhou-6", "ap-guangzhou-7", "ap-shanghai-5"},
    "GN7": {"ap-guangzhou-3", "ap-guangzhou-4", "ap-shanghai-4", "ap-beijing-5", "ap-singapore-2"},
    "S6": None, "SA3": None,  # mainland only, see below
}
_MAINLAND_ONLY = {"S6", "SA3"}


def _build() -> dict[str, InstanceType]:
    out = {}
    for family, (type_name, sizes, cpu_type) in _FAMILIES.items():
        for size in sizes:
            cpu, mem = _SIZES[size]
            name = f"{family}.{size}"
            out[name] = InstanceType(
                instance_type=name, family=family, type_name=type_name, cpu=cpu, memory_gib=mem,
                gpu=1 if family == "GN7" else 0, gpu_type="NVIDIA T4" if family == "GN7" else "",
                arch="arm" if family == "SR1" else "x86_64", cpu_type=cpu_type,
                price_hourly=round(cpu * 0.06 + mem * 0.015 + (1.8 if family == "GN7" else 0.0), 4),
            )
    return out


TYPES = _build()


def sold_in(itype: InstanceType, zone: str, mainland: bool) -> bool:
    only = _ZONES_ONLY.get(itype.family)
    if only:
        return zone in only
    if itype.family in _MAINLAND_ONLY:
        return mainland
    return True


def offerings(regions: RegionCatalogue, region: str) -> list[tuple[str, InstanceType]]:
    """(zone, type) for every type sold in every zone of ``region``."""
    r = regions.get(region)
    return [(z.zone, t) for z in r.zones for t in TYPES.values() if sold_in(t, z.zone, r.mainland)]

"""Regions and zones: the real Tencent Cloud IDs, each flagged mainland China or not."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from . import errors


@dataclass(frozen=True)
class Zone:
    zone: str
    zone_id: str
    name_zh: str
    name_en: str
    state: str


@dataclass(frozen=True)
class Region:
    region: str
    name_zh: str
    name_en: str
    mainland: bool
    state: str
    zones: tuple[Zone, ...]

    def name(self, language: str | None) -> str:
        return self.name_en if is_english(language) else self.name_zh


def is_english(language: str | None) -> bool:
    return bool(language) and language.lower().startswith("en")


class RegionCatalogue:
    """The configured set of regions (built-in catalogue, or a JSON file of the same shape)."""

    def __init__(self, regions: list[Region]):
        self._regions = {r.region: r for r in regions}

    @classmethod
    def load(cls, path: str | Path | None = None) -> "RegionCatalogue":
        if path:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        else:
            raw = json.loads(resources.files("localcvm.data").joinpath("regions.json").read_text(encoding="utf-8"))
        regions = []
        for r in raw["regions"]:
            zones = tuple(
                Zone(
                    zone=z["Zone"],
                    zone_id=str(z["ZoneId"]),
                    name_zh=z.get("ZoneName", z["Zone"]),
                    name_en=z.get("ZoneNameEn", z.get("ZoneName", z["Zone"])),
                    state=z.get("ZoneState", "AVAILABLE"),
                )
                for z in r.get("Zones", [])
            )
            regions.append(
                Region(
                    region=r["Region"],
                    name_zh=r.get("RegionName", r["Region"]),
                    name_en=r.get("RegionNameEn", r.get("RegionName", r["Region"])),
                    mainland=bool(r.get("Mainland", False)),
                    state=r.get("RegionState", "AVAILABLE"),
                    zones=zones,
                )
            )
        return cls(regions)

    def all(self) -> list[Region]:
        return list(self._regions.values())

    def find(self, region_id: str) -> Region | None:
        return self._regions.get(region_id)

    def get(self, region_id: str, *, product: str = "cvm") -> Region:
        """The region, or the real error for an unknown/unavailable one."""
        region = self._regions.get(region_id)
        if region is None:
            # UnsupportedRegion, or InvalidRegion.NotFound where the action documents it (decided
            # where the error is answered; ``product`` is no longer needed for it)
            raise errors.UnknownRegion(f"The region `{region_id}` does not exist; call DescribeRegions for the valid ones.")
        if region.state != "AVAILABLE":
            raise errors.InvalidRegionUnavailable(f"The region `{region_id}` is not available.")
        return region

    def zone(self, zone_id: str) -> tuple[Region, Zone] | None:
        for region in self._regions.values():
            for zone in region.zones:
                if zone.zone == zone_id:
                    return region, zone
        return None

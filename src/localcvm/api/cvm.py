"""CVM (cvm 2017-03-12) handlers."""

from __future__ import annotations

from ..services.regions import is_english
from .routes import CallContext, action


@action("cvm", "DescribeRegions", regional=False, inline=True)
def describe_regions(ctx: CallContext, params: dict) -> dict:
    regions = ctx.services.regions.all()
    return {
        "TotalCount": len(regions),
        "RegionSet": [
            {"Region": r.region, "RegionName": r.name(ctx.language), "RegionState": r.state} for r in regions
        ],
    }


@action("cvm", "DescribeZones", inline=True)
def describe_zones(ctx: CallContext, params: dict) -> dict:
    region = ctx.services.regions.get(ctx.region)
    english = is_english(ctx.language)
    return {
        "TotalCount": len(region.zones),
        "ZoneSet": [
            {
                "Zone": z.zone,
                "ZoneName": z.name_en if english else z.name_zh,
                "ZoneId": z.zone_id,
                "ZoneState": z.state,
            }
            for z in region.zones
        ],
    }

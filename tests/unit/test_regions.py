"""The built-in region catalogue."""

from localcvm.services.regions import RegionCatalogue


def test_mainland_flags():
    cat = RegionCatalogue.load()
    assert cat.get("ap-guangzhou").mainland and cat.get("ap-shanghai").mainland and cat.get("ap-chengdu").mainland
    assert not cat.get("ap-hongkong").mainland
    assert not cat.get("ap-singapore").mainland


def test_zone_lookup_and_ids_are_unique():
    cat = RegionCatalogue.load()
    region, zone = cat.zone("ap-guangzhou-3")
    assert region.region == "ap-guangzhou" and zone.zone_id == "100003"
    ids = [z.zone_id for r in cat.all() for z in r.zones]
    assert len(ids) == len(set(ids))
    for r in cat.all():
        assert r.zones and all(z.zone.startswith(r.region + "-") for z in r.zones)

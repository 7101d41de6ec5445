"""SyncImages: cross-region copies of custom images, in-region copies of shared
images, the quota and cross-border rules, real chunk copies as durable jobs; over the SDK."""

from __future__ import annotations

import json
import time

from localcvm.blobs import CHUNK_SIZE
from tests.helpers import stored_chunks, wait_until

from .images_util import describe, image_of, wait_image
from .instances_util import call, states
from .share_util import accounts, client, code_of, custom_image, run_instance, share, shared_with, sync

SLOW = {"LOCALCVM_TIME_SCALE": "0.003"}  # copies take 1.8-5.4 s: SYNCING and SyncPercent are observable





def watch_sync(c, image_id: str, timeout: float = 120) -> list[int]:
    """Poll a copy until NORMAL; return the SyncPercent values seen while SYNCING."""
    seen: list[int] = []

    def done():
        img = image_of(c, image_id)
        assert img is not None and img.ImageState in ("SYNCING", "NORMAL"), img and img.ImageState
        if img.ImageState == "SYNCING":
            if not seen or seen[-1] != img.SyncPercent:
                seen.append(img.SyncPercent)
            return None
        return img

    wait_until(done, timeout=timeout, interval=0.1, what=f"{image_id} to be NORMAL")
    return seen


def test_seed_flow_copy_share_copy_in_region(make_server, files, tmp_path):
    srv = make_server(extra_env=SLOW)
    a, b = accounts(srv, 2, "seed")
    ca, cb = client(srv, a), client(srv, b)
    original = custom_image(ca, files, tmp_path, "web-golden", size_mib=24, seed=3)

    # A copies it to Shanghai and Chengdu: each copy appears at once, same name, new ID, SYNCING
    copies = sync(ca, original, ["ap-shanghai", "ap-chengdu"])
    assert set(copies) == {"ap-shanghai", "ap-chengdu"} and original not in copies.values()
    for region, copy_id in copies.items():
        img = image_of(client(srv, a, region), copy_id)
        assert img.ImageName == "web-golden" and img.ImageState == "SYNCING" and img.ImageType == "PRIVATE_IMAGE"
        assert img.SyncPercent is not None and 0 <= img.SyncPercent < 100
        assert image_of(ca, copy_id) is None  # it belongs to its region only
    seen = watch_sync(client(srv, a, "ap-shanghai"), copies["ap-shanghai"])
    assert len(seen) >= 2 and seen == sorted(seen), seen  # SyncPercent advanced
    assert watch_sync(client(srv, a, "ap-chengdu"), copies["ap-chengdu"]) is not None
    # the copies are real: same chunks in each region's own namespace, and instances start from them
    src_chunks = stored_chunks(srv.data_dir, "ap-guangzhou")
    for region, copy_id in copies.items():
        assert stored_chunks(srv.data_dir, region) == src_chunks
        shown = json.loads(srv.cli("images", "show", copy_id).stdout)
        assert shown["SyncSource"] == {"ImageId": original, "Region": "ap-guangzhou"} and shown["ImageState"] == "NORMAL"
        run_instance(client(srv, a, region), copy_id)

    # A shares the original with B: B sees it only in Guangzhou, as SHARED_IMAGE, and starts an instance
    share(ca, original, [b["Uin"]])
    assert image_of(cb, original).ImageType == "SHARED_IMAGE"
    for region in ("ap-shanghai", "ap-chengdu"):
        assert image_of(client(srv, b, region), original) is None
    b_instance = run_instance(cb, original)
    # B is refused rename, delete, share and copy to another region
    assert code_of(lambda: call(cb, "ModifyImageAttribute", {"ImageId": original, "ImageName": "x"})) \
        == "UnsupportedOperation.SharedImageModifyUnsupported"
    assert code_of(lambda: call(cb, "DeleteImages", {"ImageIds": [original]})) \
        == "InvalidParameterValue.InvalidImageId"
    assert code_of(lambda: share(cb, original, [a["Uin"]])) == "UnauthorizedOperation.ImageNotBelongToAccount"
    assert code_of(lambda: sync(cb, original, ["ap-shanghai"])) == "InvalidParameterValue.InvalidRegion"
    assert code_of(lambda: sync(cb, original, ["ap-guangzhou", "ap-shanghai"])) == "InvalidParameterValue.InvalidRegion"

    # B copies it in-region: a custom image of B's, with every custom-image feature
    mine = sync(cb, original, ["ap-guangzhou"], ImageName="b-copy")["ap-guangzhou"]
    assert image_of(cb, mine).ImageState == "SYNCING"
    watch_sync(cb, mine)
    got = image_of(cb, mine)
    assert got.ImageType == "PRIVATE_IMAGE" and got.ImageName == "b-copy"
    call(cb, "ModifyImageAttribute", {"ImageId": mine, "ImageName": "b-renamed"})
    assert image_of(cb, mine).ImageName == "b-renamed"
    share(cb, mine, [a["Uin"]])
    assert shared_with(cb, mine) == [a["Uin"]]
    assert image_of(ca, mine).ImageType == "SHARED_IMAGE"
    onward = sync(cb, mine, ["ap-beijing"])["ap-beijing"]  # and copy on to another region
    watch_sync(client(srv, b, "ap-beijing"), onward)

    # A cancels the share: B no longer sees the original, B's instance keeps running
    share(ca, original, [b["Uin"]], "CANCEL")
    assert image_of(cb, original) is None
    assert image_of(cb, mine) is not None  # B's own copy stays
    assert states(cb, [b_instance]) == {b_instance: "RUNNING"}
    # billing facts: each owner pays its image's storage, recipients nothing
    shown = json.loads(srv.cli("images", "show", mine).stdout)
    assert shown["Billing"]["StoragePayerUin"] == b["Uin"] and shown["Billing"]["RecipientCharge"] == 0


def test_refused_copies_change_nothing(server, files, tmp_path):
    (a,) = accounts(server, 1, "syncref")
    ca = client(server, a)
    image_id = custom_image(ca, files, tmp_path, "refusals", size_mib=4)
    other = custom_image(ca, files, tmp_path, "other", size_mib=4, seed=2)

    def count(region):
        return describe(client(server, a, region), filters={"image-type": ["PRIVATE_IMAGE"]}).TotalCount

    before = {r: count(r) for r in ("ap-guangzhou", "ap-shanghai", "ap-singapore")}
    assert code_of(lambda: call(ca, "SyncImages", {"ImageIds": [image_id, other], "DestinationRegions": ["ap-shanghai"]})) \
        == "InvalidParameterValue.LimitExceeded"
    assert code_of(lambda: sync(ca, image_id, ["ap-guangzhou"])) == "InvalidParameterValue.InvalidRegion"
    assert code_of(lambda: sync(ca, image_id, ["ap-shanghai", "ap-guangzhou"])) == "InvalidParameterValue.InvalidRegion"
    assert code_of(lambda: sync(ca, image_id, ["ap-atlantis"])) == "InvalidParameterValue.InvalidRegion"
    assert code_of(lambda: sync(ca, image_id, ["ap-shanghai"], Encrypt=True)) \
        == "UnsupportedOperation.SyncEncryptImageNotSupport"
    assert code_of(lambda: sync(ca, image_id, ["ap-shanghai"], DryRun=True)) == "DryRunOperation"
    assert code_of(lambda: sync(ca, "img-zzzzzzzz", ["ap-shanghai"])) == "InvalidImageId.NotFound"
    assert code_of(lambda: sync(ca, "img-bad", ["ap-shanghai"])) == "InvalidImageId.Malformed"
    public = describe(ca, filters={"image-type": ["PUBLIC_IMAGE"]}).ImageSet[0].ImageId
    assert code_of(lambda: sync(ca, public, ["ap-shanghai"])) == "InvalidParameterValue.InvalidImageId"
    assert code_of(lambda: sync(ca, image_id, ["ap-shanghai"], ImageName="x" * 61)) == "InvalidParameterValue"
    # mainland China -> Singapore needs an operator's permission, per account
    assert code_of(lambda: sync(ca, image_id, ["ap-singapore"])) == "UnsupportedOperation.Region"
    assert code_of(lambda: sync(ca, image_id, ["ap-shanghai", "ap-singapore"])) == "UnsupportedOperation.Region"
    assert {r: count(r) for r in before} == before  # nothing was created anywhere
    server.cli("accounts", "allow-cross-border", a["Uin"])
    listed = {x["Uin"]: x for x in json.loads(server.cli("accounts", "list", "--json").stdout)}
    assert listed[a["Uin"]]["CrossBorder"] is True
    sg = sync(ca, image_id, ["ap-singapore"])["ap-singapore"]
    assert wait_image(client(server, a, "ap-singapore"), sg).ImageState == "NORMAL"
    server.cli("accounts", "allow-cross-border", a["Uin"], "--revoke")
    assert code_of(lambda: sync(ca, other, ["ap-hongkong"])) == "UnsupportedOperation.Region"
    assert server.cli("accounts", "allow-cross-border", "123", check=False).returncode != 0


def test_eleventh_image_in_destination_is_refused(server, files, tmp_path):
    (a,) = accounts(server, 1, "syncquota")
    ca, cn = client(server, a), client(server, a, "ap-nanjing")
    image_id = custom_image(ca, files, tmp_path, "to-copy", size_mib=4)
    for i in range(10):
        custom_image(cn, files, tmp_path, f"nj-{i}", size_mib=1, seed=100 + i)
    assert code_of(lambda: sync(ca, image_id, ["ap-shanghai", "ap-nanjing"])) == "ImageQuotaLimitExceeded"
    assert describe(cn, filters={"image-type": ["PRIVATE_IMAGE"]}).TotalCount == 10
    assert describe(client(server, a, "ap-shanghai"), filters={"image-type": ["PRIVATE_IMAGE"]}).TotalCount == 0
    # the same name in the destination is refused too
    sh = sync(ca, image_id, ["ap-shanghai"])["ap-shanghai"]
    wait_image(client(server, a, "ap-shanghai"), sh)
    assert code_of(lambda: sync(ca, image_id, ["ap-shanghai"])) == "InvalidImageName.Duplicate"


def test_source_of_a_running_copy_cannot_be_deleted(make_server, files, tmp_path):
    """The real DeleteImages refuses an image whose operation is running; a copy to another region is
    one: the source is refused (InvalidImageId.IncorrectState) until the copy is NORMAL, and the copy
    is never broken by a deleted source."""
    srv = make_server(extra_env={"LOCALCVM_TIME_SCALE": "0.02"})  # 12-36 s per copy
    (a,) = accounts(srv, 1, "vanish")
    ca = client(srv, a)
    image_id = custom_image(ca, files, tmp_path, "vanishing", size_mib=48, seed=4, dense=True)
    copy_id = sync(ca, image_id, ["ap-shanghai"])["ap-shanghai"]
    cs = client(srv, a, "ap-shanghai")
    assert code_of(lambda: call(ca, "DeleteImages", {"ImageIds": [image_id]})) == "InvalidImageId.IncorrectState"
    wait_until(lambda: (image_of(cs, copy_id).SyncPercent or 0) >= 5, timeout=60, what="the copy to start")
    before = stored_chunks(srv.data_dir, "ap-shanghai", in_progress=True)
    assert before  # some chunks are there already
    assert srv.cli("images", "gc", "--grace", "0").returncode == 0
    # GC keeps the chunks of a copy in progress
    assert stored_chunks(srv.data_dir, "ap-shanghai", in_progress=True) >= before
    # still refused mid-copy, DryRun included; the copy goes on
    assert code_of(lambda: call(ca, "DeleteImages", {"ImageIds": [image_id]})) == "InvalidImageId.IncorrectState"
    assert code_of(lambda: call(ca, "DeleteImages", {"ImageIds": [image_id], "DryRun": True})) == \
        "InvalidImageId.IncorrectState"
    assert image_of(cs, copy_id).ImageState == "SYNCING"
    img = wait_image(cs, copy_id, timeout=120)
    assert img.ImageState == "NORMAL"
    assert "Traceback" not in srv.log()
    # once the copy is done, both can go, and nothing is left in the destination after GC
    call(ca, "DeleteImages", {"ImageIds": [image_id]})
    call(cs, "DeleteImages", {"ImageIds": [copy_id]})
    srv.cli("images", "gc", "--grace", "0")
    assert stored_chunks(srv.data_dir, "ap-shanghai") == set()


def test_time_scale_stretches_copies_and_dedup_copies_only_missing_chunks(make_server, files, tmp_path):
    trace = tmp_path / "trace.log"
    # the byte path's dedup (the zero-copy path moves no chunk at all: test_image_sync_crash.py)
    srv = make_server(extra_env={"LOCALCVM_TIME_SCALE": "0.004", "LOCALCVM_SYNC_TRACE": str(trace),
                                 "LOCALCVM_ZERO_COPY": "0"})
    (a,) = accounts(srv, 1, "scale")
    ca = client(srv, a)
    first = custom_image(ca, files, tmp_path, "v1", size_mib=40, seed=7, dense=True)
    t0 = time.monotonic()
    copy1 = sync(ca, first, ["ap-chengdu"])["ap-chengdu"]
    seen = watch_sync(client(srv, a, "ap-chengdu"), copy1)
    elapsed = time.monotonic() - t0
    assert elapsed >= 0.004 * 600 * 0.9, elapsed  # at least time_scale x 10 minutes
    assert len(seen) >= 3, seen  # progress advanced smoothly, not 0 -> done
    lines = trace.read_text().split()
    assert len(lines) // 3 == 40 * 1024 * 1024 // CHUNK_SIZE  # every distinct chunk of the 40 MiB image written once
    # a second image differing in one chunk: only that chunk is copied
    raw = tmp_path / "v2.raw"
    import random

    rng = random.Random(7)
    data = bytearray(b"".join(rng.randbytes(1024 * 1024) for _ in range(40)))
    data[5 * CHUNK_SIZE + 10] ^= 0xFF
    raw.write_bytes(bytes(data))
    files.add("scale-v2.raw", raw)
    from .images_util import import_image

    second = import_image(ca, files.url("scale-v2.raw"), "v2")
    wait_image(ca, second)
    before = len(trace.read_text().splitlines())
    copy2 = sync(ca, second, ["ap-chengdu"])["ap-chengdu"]
    watch_sync(client(srv, a, "ap-chengdu"), copy2)
    assert len(trace.read_text().splitlines()) - before == 1


def test_copy_shares_the_source_base_and_outlives_the_source(make_server, files, tmp_path):
    """A copy's launch base is the source's base file under a second name (no second 2 GiB write)
    when the source has one, is made from the copied chunks when it has none, and outlives the source."""
    srv = make_server()
    (a,) = accounts(srv, 1, "base")
    ca = client(srv, a)
    source = custom_image(ca, files, tmp_path, "based", size_mib=16, seed=21, dense=True)
    bases = srv.data_dir / "bases"
    src_base = bases / "ap-guangzhou" / f"{source}-0.raw"
    assert src_base.is_file()  # the import made it

    linked = sync(ca, source, ["ap-shanghai"])["ap-shanghai"]
    watch_sync(client(srv, a, "ap-shanghai"), linked)
    sh_base = bases / "ap-shanghai" / f"{linked}-0.raw"
    assert sh_base.samefile(src_base)

    src_bytes = src_base.read_bytes()
    src_base.unlink()  # a source without a base (e.g. dropped): the copy makes its own from the chunks
    made = sync(ca, source, ["ap-chengdu"])["ap-chengdu"]
    watch_sync(client(srv, a, "ap-chengdu"), made)
    cd_base = bases / "ap-chengdu" / f"{made}-0.raw"
    assert not cd_base.samefile(sh_base) and cd_base.read_bytes() == src_bytes

    # the source goes; both copies keep their bases and start instances
    call(ca, "DeleteImages", {"ImageIds": [source]})
    wait_until(lambda: image_of(ca, source) is None, timeout=30, what="the source to be deleted")
    assert sh_base.read_bytes() == src_bytes
    for region, copy_id in (("ap-shanghai", linked), ("ap-chengdu", made)):
        c = client(srv, a, region)
        instance = run_instance(c, copy_id)
        assert states(c, [instance]) == {instance: "RUNNING"}

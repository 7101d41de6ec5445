"""Snapshot storage as CBS DescribeSnapshotOverview shows it: a custom image with 3 GiB of data is 3 GiB
stored in its region, 1 GiB of it free (the allowance set low for the test) in mainland China and none
of it free in ap-singapore where its copy is; the account it is shared with stores nothing; deleting
the images gives the storage back; the meter bills what the overview bills."""

from __future__ import annotations


from .billing_util import advance, billing, cbs, ccall, clock_now, details
from .create_image_util import create_and_wait, disk_ids, launch, write_pattern
from .images_util import new_account, wait_image
from .instances_util import call
from .share_util import share, sync
from . import sdk

GiB = 1024**3


def overview(server, region, secret_id=None, secret_key=None):
    return ccall(cbs(server, region, secret_id, secret_key), "DescribeSnapshotOverview", {})


def test_snapshot_overview_of_a_custom_image_its_copy_and_its_share(make_server):
    srv = make_server(extra_env={"LOCALCVM_TEST_CLOCK": "1", "LOCALCVM_SNAPSHOT_FREE_GIB": "1"})
    c = sdk.cvm(srv)
    empty = overview(srv, "ap-guangzhou")
    assert (empty.TotalNums, empty.TotalSize, empty.FreeQuota, empty.RealTradeSize) == (0, 0, 1, 0)
    instance_id = launch(c)[0]
    system = disk_ids(c, instance_id)[0]
    for half in range(2):  # 3 GiB of data, as a guest writes it (qemu-io writes at most 2 GiB at once)
        write_pattern(srv, system, 64 * 1024**2 + half * 3 * GiB // 2, 3 * GiB // 2, 0x5A)
    image = create_and_wait(c, timeout=180, InstanceId=instance_id, ImageName="three-gib")
    assert image.ImageState == "NORMAL", image.ImageState

    gz = overview(srv, "ap-guangzhou")
    assert gz.TotalNums == 1 and 3 <= gz.TotalSize < 3.1  # the data plus the public image's few MiB
    assert gz.FreeQuota == 1 and abs(gz.RealTradeSize - (gz.TotalSize - 1)) < 1e-6

    uin = call(c, "DescribeImages", {"ImageIds": [image.ImageId]}).ImageSet[0].ImageCreator
    srv.cli("accounts", "allow-cross-border", uin)
    copy = sync(c, image.ImageId, ["ap-singapore"])["ap-singapore"]
    sg_client = sdk.cvm(srv, "ap-singapore")
    assert wait_image(sg_client, copy, timeout=180).ImageState == "NORMAL"
    sg = overview(srv, "ap-singapore")
    assert sg.FreeQuota == 0 and sg.TotalSize == gz.TotalSize and sg.RealTradeSize == sg.TotalSize
    assert overview(srv, "ap-guangzhou").TotalSize == gz.TotalSize  # the copy is billed where it is

    other, _ = new_account(srv, "recipient")
    share(c, image.ImageId, [other["Uin"]])
    theirs = overview(srv, "ap-guangzhou", other["SecretId"], other["SecretKey"])
    assert (theirs.TotalNums, theirs.TotalSize, theirs.RealTradeSize) == (0, 0, 0)

    # snapshot storage is metered from the billed size: a day of 2 GiB-ish in Guangzhou, all of it in Singapore
    advance(srv, "24h")
    month = clock_now(srv).strftime("%Y-%m")
    rows = details(billing(srv), [month], "snapshot-storage-ap-guangzhou")
    comps = [c for r in rows for c in r.ComponentSet]
    assert comps and all(abs(float(c.UsedAmount) - gz.RealTradeSize) < 1e-5 for c in comps)
    assert 24 <= sum(float(c.TimeSpan) for c in comps) < 24.1
    assert all(c.SinglePrice == "0.000166666667" for c in comps)  # 0.12 per GB-month, per hour

    share(c, image.ImageId, [other["Uin"]], "CANCEL")
    # the snapshots behind an image stay (and are billed) unless DeleteImages deletes them too
    call(c, "DeleteImages", {"ImageIds": [image.ImageId]})
    assert overview(srv, "ap-guangzhou").TotalSize == gz.TotalSize
    ccall(cbs(srv), "DeleteSnapshots", {"SnapshotIds": [s.SnapshotId for s in image.SnapshotSet]})
    call(sg_client, "DeleteImages", {"ImageIds": [copy]})  # a copy has no CBS snapshots of its own
    for region, free in (("ap-guangzhou", 1), ("ap-singapore", 0)):
        back = overview(srv, region)
        assert (back.TotalNums, back.TotalSize, back.FreeQuota, back.RealTradeSize) == (0, 0, free, 0)

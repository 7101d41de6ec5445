"""Issue 4: the image catalogue, import/export of real disk images, quota, and the rules."""

from __future__ import annotations

import json
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.cvm.v20170312 import models

from tests.helpers import wait_until

from . import sdk
from .instances_util import call
from .images_util import (convert, describe, image_of, import_image, import_params, make_raw,
                          new_account, same_disk, wait_image)

FORMATS = {"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vhd": "vpc"}


def _code(call) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as err:
        call()
    return err.value


def _uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def source_images(tmp_path_factory, files):
    """The same 24 MiB disk as raw, qcow2, vmdk and vhd, served over HTTP."""
    root = tmp_path_factory.mktemp("src")
    raw = make_raw(root / "disk.raw")
    urls = {}
    for name, fmt in FORMATS.items():
        path = raw if name == "raw" else convert(raw, root / f"disk.{name}", fmt)
        urls[name] = files.add(f"{uuid.uuid4().hex[:6]}-disk.{name}", path)
    return raw, urls


# --- the catalogue -----------------------------------------------------------------------------
def test_public_catalogue(server):
    client = sdk.cvm(server)
    got = describe(client, filters={"image-type": ["PUBLIC_IMAGE"]}, Limit=100)
    assert got.TotalCount == len(got.ImageSet) >= 25
    names = [i.OsName for i in got.ImageSet]
    for expected in ("TencentOS Server", "CentOS", "Ubuntu Server", "Debian", "Rocky Linux", "AlmaLinux",
                     "OpenCloudOS", "Windows Server 2016", "Windows Server 2019", "Windows Server 2022"):
        assert any(expected in n for n in names), expected
    archs = {i.Architecture for i in got.ImageSet}
    assert {"x86_64", "i386", "arm"} <= archs
    for img in got.ImageSet:
        assert img.ImageType == "PUBLIC_IMAGE" and img.ImageSource == "OFFICIAL" and img.ImageState == "NORMAL"
        assert img.ImageId.startswith("img-") and len(img.ImageId) == 12
        assert img.ImageSize >= 20 and img.Platform and img.LicenseType == "TencentCloud"
        assert img.IsSupportCloudinit == (img.Platform != "Windows")
    # public image IDs are the same in every region
    other = describe(sdk.cvm(server, "ap-singapore"), filters={"image-type": ["PUBLIC_IMAGE"]}, Limit=100)
    assert {i.ImageId for i in other.ImageSet} == {i.ImageId for i in got.ImageSet}


def test_marketplace_images(server):
    got = describe(sdk.cvm(server), filters={"image-type": ["MARKET_IMAGE"]})
    assert got.TotalCount >= 3
    assert all(i.ImageSource == "MARKET" for i in got.ImageSet)


def test_english_catalogue_names(server):
    got = describe(sdk.cvm(server, language="en-US"), filters={"image-name": ["Ubuntu Server 22.04"]})
    assert any(i.OsName == "Ubuntu Server 22.04 LTS 64bit" for i in got.ImageSet)


def test_quota_and_import_os(server):
    client = sdk.cvm(server)
    assert client.DescribeImageQuota(models.DescribeImageQuotaRequest()).ImageNumQuota == 10
    os_list = client.DescribeImportImageOs(models.DescribeImportImageOsRequest())
    assert "CentOS" in os_list.ImportImageOsListSupported.Linux
    centos = [o for o in os_list.ImportImageOsVersionSet if o.OsName == "CentOS"][0]
    assert "7" in centos.OsVersions and "x86_64" in centos.Architecture


# --- import / export round trip ----------------------------------------------------------------
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_import_then_export_round_trip(server, source_images, fmt, tmp_path):
    raw, urls = source_images
    _acct, client_for = new_account(server, _uniq("rt"))
    client = client_for()
    image_id = import_image(client, urls[fmt], f"import-{fmt}", ImageDescription="round trip")
    first = image_of(client, image_id)
    assert first.ImageState in ("IMPORTING", "NORMAL") and first.ImageType == "PRIVATE_IMAGE"
    img = wait_image(client, image_id)
    assert img.ImageState == "NORMAL", img.to_json_string()
    assert img.ImageSource == "EXTERNAL_IMPORT" and img.ImageSize == 1 and img.ImageName == f"import-{fmt}"
    assert len(img.SnapshotSet) == 1 and img.SnapshotSet[0].DiskUsage == "SYSTEM_DISK"
    export_fmt = {"raw": "RAW", "qcow2": "QCOW2", "vmdk": "VMDK", "vhd": "VHD"}[fmt]
    bucket = f"bucket-{uuid.uuid4().hex[:6]}"
    req = models.ExportImagesRequest()
    req.from_json_string(json.dumps({"BucketName": bucket, "ImageIds": [image_id], "ExportFormat": export_fmt,
                                     "FileNamePrefixList": ["rt"]}))
    resp = client.ExportImages(req)
    assert resp.TaskId > 0
    assert resp.CosPaths == [f"rt_{image_id}_system_{img.SnapshotSet[0].SnapshotId}.{fmt}"]
    out = server.data_dir / "cos" / bucket / resp.CosPaths[0]
    wait_until(out.exists, timeout=120, what=f"export {out}")
    assert same_disk(raw, "raw", out, FORMATS[fmt]), f"exported {fmt} differs from the source"


# --- the quota, under concurrency ------------------------------------------------------------
def test_fifty_concurrent_imports_make_exactly_ten(server, source_images):
    _raw, urls = source_images
    _acct, client_for = new_account(server, _uniq("quota"))

    def one(i):
        try:
            return import_image(client_for(), urls["qcow2"], f"concurrent-{i}")
        except TencentCloudSDKException as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, range(50)))
    made = [r for r in results if r.startswith("img-")]
    refused = [r for r in results if not r.startswith("img-")]
    assert len(made) == 10, results
    assert set(refused) == {"ImageQuotaLimitExceeded"}
    client = client_for()
    listed = describe(client, filters={"image-type": ["PRIVATE_IMAGE"]}, Limit=100)
    assert listed.TotalCount == 10
    for image_id in made:
        assert wait_image(client, image_id).ImageState == "NORMAL"
    # the 11th is refused, in another region it is fine
    assert _code(lambda: import_image(client, urls["raw"], "eleventh")).code == "ImageQuotaLimitExceeded"
    other = import_image(client_for("ap-shanghai"), urls["raw"], "in-shanghai")
    assert wait_image(client_for("ap-shanghai"), other).ImageState == "NORMAL"


# --- rules of the API ---------------------------------------------------------------------------
def test_describe_filters_paging_and_isolation(server, source_images):
    _raw, urls = source_images
    _a, client_a = new_account(server, _uniq("fa"))
    _b, client_b = new_account(server, _uniq("fb"))
    a = client_a()
    ids = []
    for i, env in enumerate(["prod", "prod", "test"]):
        req = models.ImportImageRequest()
        req.from_json_string(json.dumps(import_params(urls["raw"], f"web-{env}-{i}", TagSpecification=[
            {"ResourceType": "image", "Tags": [{"Key": "env", "Value": env}]}])))
        ids.append(a.ImportImage(req).ImageId)
    for image_id in ids:
        wait_image(a, image_id)
    private = describe(a, filters={"image-type": ["PRIVATE_IMAGE"]})
    assert private.TotalCount == 3
    assert describe(a, filters={"tag:env": ["prod"]}).TotalCount == 2
    assert describe(a, filters={"tag-key": ["env"], "image-type": ["PRIVATE_IMAGE"]}).TotalCount == 3
    assert describe(a, filters={"tag-value": ["test"]}).TotalCount == 1
    assert describe(a, filters={"image-name": ["web-prod"]}).TotalCount == 2  # fuzzy
    assert describe(a, filters={"image-id": [ids[0], ids[2]]}).TotalCount == 2
    assert describe(a, filters={"image-state": ["NORMAL"], "image-type": ["PRIVATE_IMAGE"]}).TotalCount == 3
    # AND across filters, OR across values
    assert describe(a, filters={"image-type": ["PRIVATE_IMAGE"], "tag:env": ["test", "prod"]}).TotalCount == 3
    assert describe(a, filters={"image-type": ["PRIVATE_IMAGE"], "tag:env": ["nope"]}).TotalCount == 0
    # paging: TotalCount is before paging
    everything = describe(a, Limit=100)
    page = describe(a, Offset=2, Limit=3)
    assert page.TotalCount == everything.TotalCount and len(page.ImageSet) == 3
    assert [i.ImageId for i in page.ImageSet] == [i.ImageId for i in everything.ImageSet[2:5]]
    assert len(describe(a).ImageSet) == 20  # default Limit
    # B sees none of A's images, by filter or by ID
    b = client_b()
    assert describe(b, filters={"image-type": ["PRIVATE_IMAGE"]}).TotalCount == 0
    assert describe(b, image_ids=ids).TotalCount == 0
    # A's images are in ap-guangzhou only
    assert describe(client_a("ap-shanghai"), image_ids=ids).TotalCount == 0
    # errors
    assert _code(lambda: describe(a, image_ids=ids, filters={"image-type": ["PRIVATE_IMAGE"]})).code == \
        "InvalidParameter.InvalidParameterCoexistImageIdsFilters"
    assert _code(lambda: describe(a, filters={"flavour": ["x"]})).code == "InvalidFilter"
    assert _code(lambda: describe(a, image_ids=["ami-123"])).code == "InvalidImageId.Malformed"
    assert _code(lambda: describe(a, Limit=101)).code == "InvalidParameterValue.LimitExceeded"
    assert _code(lambda: describe(a, filters={"image-id": ["1", "2", "3", "4", "5", "6"]})).code == \
        "InvalidFilterValue.LimitExceeded"


def test_modify_and_delete(server, source_images):
    _raw, urls = source_images
    _acct, client_for = new_account(server, _uniq("md"))
    c = client_for()
    one = import_image(c, urls["raw"], "first")
    two = import_image(c, urls["raw"], "second")
    wait_image(c, one), wait_image(c, two)

    def modify(**p):
        req = models.ModifyImageAttributeRequest()
        req.from_json_string(json.dumps(p))
        return c.ModifyImageAttribute(req)

    modify(ImageId=one, ImageName="renamed", ImageDescription="new words")
    img = image_of(c, one)
    assert (img.ImageName, img.ImageDescription) == ("renamed", "new words")
    assert _code(lambda: modify(ImageId=one, ImageName="second")).code == "InvalidImageName.Duplicate"
    assert _code(lambda: modify(ImageId=one, ImageName="x" * 61)).code == "InvalidParameterValue"
    assert _code(lambda: modify(ImageId="img-zzzzzzzz", ImageName="y")).code == "InvalidImageId.NotFound"
    public_id = describe(c, filters={"image-type": ["PUBLIC_IMAGE"]}).ImageSet[0].ImageId
    # ModifyImageAttribute documents only InvalidImageId.NotFound for an image that is not one's own
    assert _code(lambda: modify(ImageId=public_id, ImageName="mine")).code == "InvalidImageId.NotFound"
    assert image_of(c, one).ImageName == "renamed"  # refused calls changed nothing
    # duplicate names are refused at import too
    assert _code(lambda: import_image(c, urls["raw"], "second")).code == "InvalidImageName.Duplicate"

    def delete(ids, **p):
        req = models.DeleteImagesRequest()
        req.from_json_string(json.dumps({"ImageIds": ids, **p}))
        return c.DeleteImages(req)

    assert _code(lambda: delete([one], DryRun=True)).code == "DryRunOperation"
    assert image_of(c, one) is not None
    # one bad ID in the list: nothing is deleted
    assert _code(lambda: delete([one, "img-zzzzzzzz"])).code == "InvalidImageId.NotFound"
    assert image_of(c, one) is not None
    assert _code(lambda: delete([public_id])).code == "InvalidParameterValue.InvalidImageId"
    delete([one, two])
    assert image_of(c, one) is None and image_of(c, two) is None
    assert describe(c, filters={"image-type": ["PRIVATE_IMAGE"]}).TotalCount == 0


def test_import_parameter_rules(server, source_images):
    _raw, urls = source_images
    _acct, client_for = new_account(server, _uniq("ir"))
    c = client_for()
    assert _code(lambda: import_image(c, urls["raw"], "a", OsType="Plan9")).code == "InvalidImageOsType.Unsupported"
    assert _code(lambda: import_image(c, urls["raw"], "a", OsVersion="99")).code == "InvalidImageOsVersion.Unsupported"
    assert _code(lambda: import_image(c, urls["raw"], "a", Architecture="sparc")).code == "InvalidParameterValue"
    assert _code(lambda: import_image(c, urls["raw"], "x" * 61)).code == "InvalidParameterValue"
    assert _code(lambda: import_image(c, urls["raw"], "a", BootMode="Coreboot")).code == "InvalidParameterValue.InvalidBootMode"
    assert _code(lambda: import_image(c, urls["raw"], "a", LicenseType="GPL")).code == "InvalidParameterValue.InvalidLicenseType"
    assert _code(lambda: import_image(c, urls["raw"], "a", DryRun=True)).code == "DryRunOperation"
    for bad in ("file:///etc/passwd", "ftp://127.0.0.1/x.raw", "gopher://127.0.0.1/x", "http:///nohost", "/etc/passwd"):
        err = _code(lambda: import_image(c, bad, "a"))
        assert err.code == "InvalidParameter.InvalidParameterUrlError" and "ImageUrl" in err.message, bad
    assert describe(c, filters={"image-type": ["PRIVATE_IMAGE"]}).TotalCount == 0  # nothing was created


def test_export_rules(server, source_images):
    _raw, urls = source_images
    _acct, client_for = new_account(server, _uniq("ex"))
    c = client_for()

    def export(ids, **p):
        req = models.ExportImagesRequest()
        req.from_json_string(json.dumps({"BucketName": "exports", "ImageIds": ids, **p}))
        return c.ExportImages(req)

    public_id = describe(c, filters={"image-type": ["PUBLIC_IMAGE"]}).ImageSet[0].ImageId
    assert _code(lambda: export([public_id])).code == "UnsupportedOperation.PublicImageExportUnsupported"
    market_id = describe(c, filters={"image-type": ["MARKET_IMAGE"]}).ImageSet[0].ImageId
    assert _code(lambda: export([market_id])).code == "UnsupportedOperation.MarketImageExportUnsupported"
    win = import_image(c, urls["raw"], "win", OsType="Windows", OsVersion="Windows Server 2019")
    wait_image(c, win)
    assert _code(lambda: export([win])).code == "UnsupportedOperation.WindowsImageExportUnsupported"
    lin = import_image(c, urls["raw"], "lin")
    wait_image(c, lin)
    assert _code(lambda: export([lin], ExportFormat="ISO")).code == "InvalidParameterValue"
    assert _code(lambda: export([lin], FileNamePrefixList=["a", "b"])).code == "InvalidParameterValue"
    assert _code(lambda: export([lin], BucketName="Bad_Bucket!")).code == "InvalidParameterValue"
    assert _code(lambda: export([lin], DryRun=True)).code == "DryRunOperation"
    assert _code(lambda: export([])).code == "InvalidParameter.ImageIdsSnapshotIdsMustOne"


def test_a_fixed_vhd_is_not_streamed_as_raw(server, source_images, tmp_path, files):
    """A fixed VHD looks raw until its last 512 bytes (the footer): the streamed import notices and
    imports it as a VHD, so the footer never becomes disk data."""
    raw, _urls = source_images
    fixed = tmp_path / "fixed.vhd"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on",
                    str(raw), str(fixed)], check=True)
    url = files.add(f"{uuid.uuid4().hex[:6]}-fixed.vhd", fixed)
    _acct, client_for = new_account(server, _uniq("vhdfixed"))
    client = client_for()
    image_id = import_image(client, url, "fixed-vhd")
    assert wait_image(client, image_id).ImageState == "NORMAL"
    bucket = f"bucket-{uuid.uuid4().hex[:6]}"
    resp = call(client, "ExportImages", {"BucketName": bucket, "ImageIds": [image_id], "ExportFormat": "RAW"})
    out = server.data_dir / "cos" / bucket / resp.CosPaths[0]
    wait_until(out.exists, timeout=120, what=f"export {out}")
    assert same_disk(raw, "raw", out, "raw")


def test_a_raw_import_needs_no_scratch_copy(server, files, tmp_path):
    """A raw image is chunked as it downloads: the job's scratch directory never holds more than
    two chunks (the download is not written out first), and the image reads back the same."""
    import random
    import threading

    from localcvm.blobs import CHUNK_SIZE

    data = random.Random(9).randbytes(64 * 1024 * 1024)
    path = tmp_path / "big.raw"
    path.write_bytes(data)
    url = files.add(f"{uuid.uuid4().hex[:6]}-big.raw", path)
    _acct, client_for = new_account(server, _uniq("stream"))
    client = client_for()
    work, peak, done = server.data_dir / "work", [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            size = sum(f.stat().st_size for f in work.rglob("*") if f.is_file()) if work.exists() else 0
            peak[0] = max(peak[0], size)
            done.wait(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        image_id = import_image(client, url, "streamed")
        assert wait_image(client, image_id).ImageState == "NORMAL"
    finally:
        done.set()
        watcher.join()
    assert peak[0] <= 2 * CHUNK_SIZE, peak[0]
    bucket = f"bucket-{uuid.uuid4().hex[:6]}"
    resp = call(client, "ExportImages", {"BucketName": bucket, "ImageIds": [image_id], "ExportFormat": "RAW"})
    out = server.data_dir / "cos" / bucket / resp.CosPaths[0]
    wait_until(out.exists, timeout=120, what=f"export {out}")
    assert out.read_bytes() == data

"""Issue 4, acceptance 4: untrusted images and URLs fail clearly and leak nothing from the host."""

from __future__ import annotations

import os
import struct
import subprocess
import uuid
from pathlib import Path

import pytest

from .images_util import describe, import_image, make_raw, new_account, wait_image, wait_scratch_cleared

PASSWD = Path("/etc/passwd").read_bytes()


def _qcow2(path: Path, *opts: str, size: str = "16M") -> Path:
    subprocess.run(["qemu-img", "create", "-f", "qcow2", *opts, str(path), size], check=True, capture_output=True)
    return path


def _bad_images(root: Path) -> dict[str, Path]:
    """name -> file; every one of them must be refused."""
    out = {}
    out["backing-file"] = _qcow2(root / "backing.qcow2", "-b", "/etc/passwd", "-F", "raw")
    out["json-backing"] = _qcow2(root / "json.qcow2", "-b", 'json:{"driver":"raw","file":{"driver":"file","filename":"/etc/passwd"}}', "-F", "raw")
    data = root / "external.data"
    out["external-data-file"] = _qcow2(root / "external.qcow2", "-o", f"data_file={data}")
    out["huge-sparse"] = _qcow2(root / "huge.qcow2", size="3T")  # a few hundred KiB claiming 3 TiB
    lying = _qcow2(root / "lying.qcow2")
    with open(lying, "r+b") as fh:  # header claims 1 PiB, the L1 table covers 16 MiB
        fh.seek(24)
        fh.write(struct.pack(">Q", 1 << 50))
    out["lying-size"] = lying
    desc = root / "desc.vmdk"
    desc.write_text(
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\n"
        "RW 8 FLAT \"/etc/passwd\" 0\n\nddb.adapterType = \"ide\"\n"
    )
    out["vmdk-extent-passwd"] = desc
    return out


@pytest.fixture(scope="module")
def bad(tmp_path_factory, files):
    root = tmp_path_factory.mktemp("bad")
    urls = {name: files.add(f"{uuid.uuid4().hex[:6]}-{p.name}", p) for name, p in _bad_images(root).items()}
    good = files.add(f"{uuid.uuid4().hex[:6]}-good.raw", make_raw(root / "good.raw", 8, seed=7))
    name = good.rsplit("/", 1)[1]
    urls["404"] = files.url("does-not-exist.raw")
    urls["redirect-elsewhere"] = files.url(name, "other-redirect")
    urls["truncated"] = files.url(name, "truncated")
    urls["same-origin-redirect"] = files.url(name, "same-redirect")
    return urls


EXPECT = {
    "backing-file": "backing file",
    "json-backing": "json: backing",
    "external-data-file": "data file",
    "huge-sparse": "size",
    "lying-size": "size",
    "vmdk-extent-passwd": "extent",
    "404": "404",
    "redirect-elsewhere": "another host",
    "truncated": "truncated",
}


def test_each_malicious_input_fails_cleanly(make_server, bad):
    srv = make_server()
    _acct, client_for = new_account(srv, "mal")
    c = client_for()
    results = {}
    for name in EXPECT:
        image_id = import_image(c, bad[name], name[:60])
        results[name] = image_id
    for name, image_id in results.items():
        img = wait_image(c, image_id)
        assert img.ImageState == "IMPORTFAILED", (name, img.ImageState)
    # a same-origin redirect is fine
    ok = import_image(c, bad["same-origin-redirect"], "redirected")
    assert wait_image(c, ok).ImageState == "NORMAL"
    # nothing is left behind: no scratch files, no unfinished jobs
    wait_scratch_cleared(srv)
    # no byte of /etc/passwd reached the chunk store
    first_line = PASSWD.split(b"\n", 1)[0]
    for root, _dirs, names in os.walk(srv.data_dir / "blobs"):
        for n in names:
            assert first_line not in Path(root, n).read_bytes(), f"/etc/passwd content found in {n}"
    # failed imports still count toward the quota until deleted, like the real service
    assert describe(c, filters={"image-state": ["IMPORTFAILED"]}).TotalCount == len(EXPECT)


def test_reasons_are_clear(make_server, bad):
    """Each failure's reason names what was wrong (read through `localcvm images show`)."""
    srv = make_server()
    _acct, client_for = new_account(srv, "why")
    c = client_for()
    for name, needle in EXPECT.items():
        image_id = import_image(c, bad[name], name)
        assert wait_image(c, image_id).ImageState == "IMPORTFAILED"
        shown = srv.cli("images", "show", image_id).stdout
        assert needle.lower() in shown.lower(), (name, shown)


def test_download_size_limit(make_server, bad, files, tmp_path):
    srv = make_server(extra_env={"LOCALCVM_MAX_IMPORT_BYTES": str(4 * 1024 * 1024)})
    _acct, client_for = new_account(srv, "big")
    c = client_for()
    url = files.add(f"{uuid.uuid4().hex[:6]}-big.raw", make_raw(tmp_path / "big.raw", 8))
    image_id = import_image(c, url, "too-big")
    assert wait_image(c, image_id).ImageState == "IMPORTFAILED"
    assert "limit" in srv.cli("images", "show", image_id).stdout

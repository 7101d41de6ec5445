"""ImportImage of qcow2 files along each of its paths gives the same disk.

A qcow2 as qemu-img writes it is chunked as it downloads; one whose clusters are out of guest
order (grown by a guest) is downloaded and chunked from its clusters; one with compressed
clusters is converted by qemu-img. Each ends NORMAL with the disk's exact bytes.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest

from .create_image_util import disk_file, disk_ids
from .images_util import import_image, make_raw, new_account, same_disk, wait_image
from .instances_util import call, wait_state


def _qcow2(tmp_path, how: str):
    raw = make_raw(tmp_path / f"{how}.raw", 24, seed=11)
    out = tmp_path / f"{how}.qcow2"
    if how == "streamed":
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(out)], check=True)
    elif how == "compressed":
        subprocess.run(["qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", str(raw), str(out)], check=True)
    else:  # written back to front, as a guest may: the data clusters lie out of guest order
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(out), "24M"], check=True)
        data = raw.read_bytes()
        for offset in range(23, -1, -1):
            piece = tmp_path / "piece"
            piece.write_bytes(data[offset << 20:(offset + 1) << 20])
            subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -s {piece} {offset << 20} 1M", str(out)],
                           check=True, capture_output=True)
    return raw, out


def _imports_as(server, c, url: str, raw) -> None:
    """ImportImage of ``url`` ends NORMAL, and an instance launched from it has ``raw``'s bytes."""
    image_id = import_image(c, url, f"paths-{uuid.uuid4().hex[:6]}")
    assert wait_image(c, image_id).ImageState == "NORMAL"
    ins = call(c, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image_id}).InstanceIdSet[0]
    wait_state(c, [ins], "RUNNING")
    assert same_disk(raw, "raw", disk_file(server, disk_ids(c, ins)[0]), "qcow2")


@pytest.mark.parametrize("how", ["streamed", "out-of-order", "compressed"])
def test_qcow2_paths_give_the_same_disk(server, files, tmp_path, how):
    _, client_for = new_account(server, f"paths-{uuid.uuid4().hex[:6]}")
    c = client_for()
    raw, qcow2 = _qcow2(tmp_path, how)
    name = f"{uuid.uuid4().hex[:6]}-{how}.qcow2"
    files.add(name, qcow2)
    _imports_as(server, c, files.url(name), raw)


@pytest.mark.parametrize(("fmt", "opts"), [
    ("vmdk", ()),                                      # monolithicSparse: read where its grains sit
    ("vpc", ("subformat=fixed", "force_size=on")),      # a fixed VHD: the data is the file
    ("vmdk", ("subformat=streamOptimized",)),           # compressed grains: converted by qemu-img
], ids=["vmdk-sparse", "vhd-fixed", "vmdk-stream"])
def test_vmdk_and_vhd_paths_give_the_same_disk(server, files, tmp_path, fmt, opts):
    _, client_for = new_account(server, f"paths-{uuid.uuid4().hex[:6]}")
    c = client_for()
    raw = make_raw(tmp_path / "disk.raw", 24, seed=12)
    image = tmp_path / "disk.img"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", fmt, *[a for o in opts for a in ("-o", o)],
                    str(raw), str(image)], check=True)
    name = f"{uuid.uuid4().hex[:6]}-disk.{'vhd' if fmt == 'vpc' else fmt}"
    files.add(name, image)
    _imports_as(server, c, files.url(name), raw)
    # one GET of the file: what its first bytes show is not raw is downloaded on in the same GET; a
    # fixed VHD has no header, so its footer is asked for first (a Range GET of 512 bytes)
    asked = [r for p, r in files.httpd.requests if p == f"/files/{name}"]
    assert asked == ([None, "bytes=-512"] if "subformat=fixed" in opts else [None]), asked


def test_import_through_the_environments_proxy(make_server, files, tmp_path):
    """http_proxy is honoured as other HTTP clients honour it (with Basic credentials), and a
    loopback URL is fetched directly. The image's host does not exist: only the proxy (the test's
    file server, on 127.0.0.1) knows it."""
    proxy = f"http://im%40port:s3cret@127.0.0.1:{files.port}"
    srv = make_server(extra_env={"http_proxy": proxy})
    _, client_for = new_account(srv, "proxy")
    c = client_for()
    raw = make_raw(tmp_path / "proxied.raw", 8, seed=5)
    name = f"{uuid.uuid4().hex[:6]}-proxied.raw"
    files.add(name, raw)
    before = len(files.httpd.proxied)
    via = f"http://images.invalid:8080/same-redirect/{name}"  # and a same-origin redirect, through it too
    _imports_as(srv, c, via, raw)
    seen = files.httpd.proxied[before:]
    credentials = "Basic aW1AcG9ydDpzM2NyZXQ="  # base64 of im@port:s3cret, the URL's quoting undone
    file_url = f"http://images.invalid:8080/files/{name}"  # then the body, and the Range GET of its end
    assert seen == [(via, credentials), (file_url, credentials), (file_url, credentials)], seen
    # loopback is never proxied
    direct = import_image(c, files.url(name), "direct")
    assert wait_image(c, direct).ImageState == "NORMAL"
    assert files.httpd.proxied[before:] == seen


def test_import_of_an_https_url_through_the_proxys_tunnel(make_server, files, tmp_path):
    """https_proxy: a CONNECT tunnel, and the image host's certificate checked for its own name."""
    from localcvm.tls import ensure_server_cert
    from tests.fileserver import file_server

    cert, key, ca = ensure_server_cert(tmp_path / "tls", "images.invalid")
    raw = make_raw(tmp_path / "tunnelled.raw", 8, seed=6)
    with file_server(tmp_path / "tls-files", tls=(cert, key)) as tls_files:
        tls_files.add("tunnelled.raw", raw)
        files.httpd.tunnel_to = ("127.0.0.1", tls_files.port)  # the session's file server: reset below
        try:
            _tunnelled_imports(make_server, files, ca)
        finally:
            files.httpd.tunnel_to = None


def _tunnelled_imports(make_server, files, ca) -> None:
    srv = make_server(extra_env={"https_proxy": f"http://u:p@127.0.0.1:{files.port}", "SSL_CERT_FILE": str(ca)})
    _, client_for = new_account(srv, "tunnel")
    c = client_for()
    before = len(files.httpd.proxied)
    image_id = import_image(c, "https://images.invalid/files/tunnelled.raw", "tunnelled")
    assert wait_image(c, image_id).ImageState == "NORMAL"
    assert files.httpd.proxied[before:] == [("CONNECT images.invalid:443", "Basic dTpw")] * 2  # the body, its end
    # a certificate for another name is refused: the check is of the image's host, not the proxy's
    wrong = import_image(c, "https://elsewhere.invalid/files/tunnelled.raw", "wrong-name")
    assert wait_image(c, wrong).ImageState == "IMPORTFAILED"
    assert files.httpd.proxied[-1][0] == "CONNECT elsewhere.invalid:443"

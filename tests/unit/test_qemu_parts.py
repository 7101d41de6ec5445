"""The QEMU driver's parts that need no VM: the metadata responder, the NoCloud seed, the slirp
network plan, the port proxy and its allow hook, the public range check, the command line."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from localcvm.hypervisor.qemu import metadata, process
from localcvm.hypervisor.qemu.proxy import ProxySet
from localcvm.hypervisor.qemu.state import metadata_tree, write_boot_files
from localcvm.services.compute import check_public_range


def _get(vm_dir: Path, path: str) -> tuple[int, bytes]:
    out = io.BytesIO()
    metadata.serve_one(vm_dir, io.BytesIO(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()), out)
    head, _, body = out.getvalue().partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_metadata_answers_as_the_real_service(tmp_path):
    cfg = {"hostname": "web-1", "private_ip": "172.16.0.9", "public_ip": "127.100.0.3", "region": "ap-guangzhou",
           "zone": "ap-guangzhou-3", "ssh_keys": ["ssh-ed25519 AAAA k1"], "metadata": {"uuid": "u-1"}}
    (tmp_path / metadata.DATA_FILE).write_text(json.dumps(
        {"meta-data": metadata_tree("ins-abc", cfg), "user-data": "IyEvYmluL3NoCg=="}))
    assert _get(tmp_path, "/latest/meta-data/instance-id") == (200, b"ins-abc")
    assert _get(tmp_path, "/latest/meta-data/placement/zone") == (200, b"ap-guangzhou-3")
    assert _get(tmp_path, "/latest/meta-data/placement/region") == (200, b"ap-guangzhou")
    assert _get(tmp_path, "/latest/meta-data/local-ipv4") == (200, b"172.16.0.9")
    assert _get(tmp_path, "/latest/meta-data/public-ipv4") == (200, b"127.100.0.3")
    assert _get(tmp_path, "/latest/meta-data/public-keys/0/openssh-key") == (200, b"ssh-ed25519 AAAA k1")
    assert _get(tmp_path, "/latest/user-data") == (200, b"#!/bin/sh\n")
    status, listing = _get(tmp_path, "/latest/meta-data/")
    assert status == 200 and {"instance-id", "placement/", "public-keys/"} <= set(listing.decode().split("\n"))
    assert _get(tmp_path, "/latest/meta-data/placement")[1].decode().split("\n") == ["region", "zone"]
    assert _get(tmp_path, "/latest/meta-data/nothing")[0] == 404
    assert _get(tmp_path, "/etc/passwd")[0] == 404


def test_metadata_without_user_data_or_keys(tmp_path):
    (tmp_path / metadata.DATA_FILE).write_text(json.dumps({"meta-data": metadata_tree("ins-x", {}), "user-data": None}))
    assert _get(tmp_path, "/latest/user-data")[0] == 404
    assert _get(tmp_path, "/latest/meta-data/public-keys/0/openssh-key")[0] == 404


def test_boot_files_seed_and_metadata(tmp_path):
    cfg = {"hostname": "host-1", "user_data": "IyEvYmluL3NoCg==", "ssh_keys": ["ssh-ed25519 AAAA a", " "],
           "password": "Pw-1234567"}
    write_boot_files(tmp_path, "ins-1", cfg, metadata_endpoint="10.2.0.254:80")
    path = tmp_path / "seed.img"
    label = subprocess.run(["blkid", "-o", "value", "-s", "LABEL", str(path)], capture_output=True, text=True).stdout
    assert label.strip().lower() == "cidata"
    env = {"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"}

    def read(name: str) -> str:
        return subprocess.run(["mtype", "-i", str(path), f"::{name}"], capture_output=True, text=True, env=env).stdout

    assert read("meta-data") == "instance-id: ins-1\nlocal-hostname: host-1\n"
    assert read("authorized_keys") == "ssh-ed25519 AAAA a\n"
    assert read("root-password") == "Pw-1234567" and read("user-data") == "#!/bin/sh\n"
    assert read("metadata-endpoint").strip() == "10.2.0.254:80"
    assert json.loads((tmp_path / metadata.DATA_FILE).read_text())["meta-data"]["hostname"] == "host-1"
    write_boot_files(tmp_path, "ins-1", {})  # no password: no root-password file (password login off)
    listing = subprocess.run(["mdir", "-b", "-i", str(path), "::"], capture_output=True, text=True, env=env).stdout
    assert "root-password" not in listing and "meta-data" in listing


def test_net_plan_puts_the_metadata_address_in_the_guest_network():
    wide = process.NetPlan.for_ip("172.16.3.7", "172.16.0.0/20", {22: 40000})
    assert (wide.net, wide.host, wide.dhcp, wide.metadata) == ("160.0.0.0/4", "172.16.0.1", "172.16.3.7", "169.254.0.23")
    assert not wide.relayed
    other = process.NetPlan.for_ip("10.2.0.9", "10.2.0.0/24", {22: 40000})
    assert (other.net, other.host, other.metadata, other.relayed) == ("10.2.0.0/24", "10.2.0.1", "10.2.0.254", True)
    assert process.NetPlan.for_ip("10.2.0.254", "10.2.0.0/24", {}).metadata == "10.2.0.253"
    assert "guestfwd=tcp:10.2.0.254:80-cmd:" in process.netdev_args(other, Path("/v"))[1]
    args = process.netdev_args(wide, Path("/data/vms/ins-1"))
    netdev = args[args.index("-netdev") + 1]
    assert "dhcpstart=172.16.3.7" in netdev and "hostfwd=tcp:127.0.0.1:40000-:22" in netdev
    assert "guestfwd=tcp:169.254.0.23:80-cmd:" in netdev and "metadata.py /data/vms/ins-1" in netdev


def test_command_line_disks_in_slot_order_and_no_listener_outside_loopback(tmp_path):
    layout = process.Layout(tmp_path)
    disks = [{"device": "vdb", "path": "/d/b.qcow2", "fmt": "qcow2", "role": "data"},
             {"device": "vda", "path": "/d/a.qcow2", "fmt": "qcow2", "role": "system"}]
    args = process.qemu_args("ins-1", layout, accel="tcg", cpu=1, memory_mib=256, disks=disks,
                             net=process.NetPlan.for_ip("172.16.0.5", None, {22: 1234}), vnc_port=5999)
    devices = [a for a in args if a.startswith("driver=virtio-blk-pci")]
    assert devices[0].startswith("driver=virtio-blk-pci,drive=disk-vda") and "bootindex=0" in devices[0]
    assert "addr=0x5" in devices[1]
    assert "unix:vnc.sock,websocket=127.0.0.1:5999" in args
    assert args[args.index("-name") + 1] == process.name_of("ins-1")


def _listen() -> tuple[socket.socket, int]:
    upstream = socket.socket()
    upstream.bind(("127.0.0.1", 0))
    upstream.listen()
    return upstream, upstream.getsockname()[1]


def test_proxy_forwards_and_asks_the_hook_per_connection():
    upstream, target = _listen()

    def echo():
        while True:
            try:
                conn, _ = upstream.accept()
            except OSError:
                return
            conn.sendall(b"hello " + conn.recv(100))
            conn.close()

    threading.Thread(target=echo, daemon=True).start()
    proxies = ProxySet()
    seen = []
    rules = {"allow": True}
    proxies.set_allow(lambda ins, src, proto, port: seen.append((ins, src, proto, port)) or rules["allow"])
    probe = socket.socket()
    probe.bind(("127.77.0.9", 0))
    listen_port = probe.getsockname()[1]
    probe.close()
    proxies.open("ins-p", "127.77.0.9", [(listen_port, target, 22)])
    try:
        with socket.create_connection(("127.77.0.9", listen_port), timeout=5) as s:
            s.sendall(b"you")
            assert s.recv(100) == b"hello you"
        assert [(i, src.startswith("127."), proto, port) for i, src, proto, port in seen] == [("ins-p", True, "TCP", 22)]
        rules["allow"] = False  # a rule change applies to the next connection, no restart
        with socket.create_connection(("127.77.0.9", listen_port), timeout=5) as s:
            try:
                s.sendall(b"again")
                assert s.recv(100) == b""  # closed at once, nothing forwarded
            except ConnectionResetError:
                pass
    finally:
        proxies.close_all()
        upstream.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.77.0.9", listen_port), timeout=2)


def test_proxy_refuses_non_loopback_addresses():
    with pytest.raises(ValueError):
        ProxySet().open("ins-q", "192.0.2.1", [(2222, 1, 22)])


@pytest.mark.parametrize("value", ["10.0.0.0/16", "0.0.0.0/0", "::1/128", "127.0.0.1/31", "nonsense"])
def test_public_range_must_be_loopback(value):
    with pytest.raises(ValueError):
        check_public_range(value)


def test_public_range_default_is_fine():
    assert check_public_range("127.100.0.0/16").num_addresses == 65536

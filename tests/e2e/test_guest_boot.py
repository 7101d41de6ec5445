"""The public guest disk boots on its own under QEMU (SeaBIOS, TCG) and keeps the init contract:
NoCloud seed (hostname, user-data, keys, password), SSH, a clean ACPI poweroff, per-instance state."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.guest_util import SSH_OPTS, boot, make_seed, public_disk, ssh_key
from tests.helpers import wait_until

pytestmark = pytest.mark.slow

USER_DATA = "#!/bin/sh\necho hello from user-data > /root/hello\necho ran >> /root/runs\n"


def _seed(tmp, key, instance_id="ins-guest001", hostname="guest-one", **extra):
    files = {"meta-data": f"instance-id: {instance_id}\nlocal-hostname: {hostname}\n",
             "user-data": USER_DATA, "authorized_keys": key.with_suffix(".pub").read_text(), **extra}
    return make_seed(tmp / f"seed-{instance_id}.img", files)


def _powerdown(guest, timeout=30):
    assert "return" in guest.qmp("system_powerdown")
    guest.proc.wait(timeout)
    assert guest.proc.returncode == 0


def test_boot_ssh_user_data_and_clean_poweroff(tmp_path):
    disk = public_disk()
    key = ssh_key(tmp_path)
    guest = boot(disk, tmp_path, seed=_seed(tmp_path, key))
    try:
        seconds = guest.wait_ssh(key)
        print(f"\nTCG: SSH up {seconds:.1f} s after the QEMU start")
        out = guest.ssh(key, "hostname; cat /root/hello; cat /proc/sys/kernel/random/boot_id; "
                             "grep metadata /etc/hosts; ip route; echo data > /root/kept").stdout.split("\n")
        assert out[0] == "guest-one"
        assert out[1] == "hello from user-data"
        boot_id = out[2]
        assert f"localcvm-guest: boot {boot_id}" in guest.serial_text()
        assert "localcvm-guest: ready" in guest.serial_text()
        assert "169.254.0.23\tmetadata.tencentyun.com" in out[3]
        assert any(line.startswith("default via") for line in out) and any(line.startswith("169.254.0.23 via") for line in out)
        # no root password in the seed: password logins are refused
        r = subprocess.run(["ssh", *SSH_OPTS, "-o", "PreferredAuthentications=password", "-p", str(guest.port),
                            "root@127.0.0.1", "true"], capture_output=True, text=True, timeout=20)
        assert r.returncode != 0
        _powerdown(guest)
        assert "localcvm-guest: shutdown" in guest.serial_text()
    finally:
        guest.stop()

    # the same disk again with the same instance: its state is kept (the write above without a sync
    # too: the power-down synced it), user-data does not run again
    guest = boot(disk, tmp_path, seed=_seed(tmp_path, key))
    try:
        guest.wait_ssh(key)
        out = guest.ssh(key, "cat /root/kept /root/runs").stdout.split()
        assert out == ["data", "ran"]
        _powerdown(guest)
    finally:
        guest.stop()


def test_new_instance_id_reruns_user_data_new_host_key_and_password(tmp_path):
    disk = public_disk()
    key = ssh_key(tmp_path)
    guest = boot(disk, tmp_path, seed=_seed(tmp_path, key))
    try:
        guest.wait_ssh(key)
        first_host_key = guest.ssh(key, "dropbearkey -y -f /etc/dropbear/dropbear_ed25519_host_key | grep ^ssh").stdout
        guest.ssh(key, "poweroff")
        guest.proc.wait(30)
    finally:
        guest.stop()
    # a copy of the disk booted as another instance, with a password instead of the key
    seed = _seed(tmp_path, key, instance_id="ins-guest002", hostname="guest-two", **{"root-password": "Pa55-word!"})
    guest = boot(disk, tmp_path, seed=seed)
    try:
        guest.wait_ssh(key)
        out = guest.ssh(key, "hostname; cat /root/runs | wc -l; cat /var/lib/localcvm/instance-id; "
                             "dropbearkey -y -f /etc/dropbear/dropbear_ed25519_host_key | grep ^ssh").stdout.split("\n")
        assert out[0] == "guest-two"
        assert out[1].strip() == "2"
        assert out[2] == "ins-guest002"
        assert out[3] and out[3] != first_host_key.strip()
        askpass = tmp_path / "askpass.sh"
        askpass.write_text("#!/bin/sh\necho 'Pa55-word!'\n")
        askpass.chmod(0o755)
        env = {**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
        opts = [o if o != "BatchMode=yes" else "BatchMode=no" for o in SSH_OPTS]
        r = subprocess.run(["ssh", *opts, "-o", "PreferredAuthentications=password,keyboard-interactive",
                            "-o", "PubkeyAuthentication=no", "-p", str(guest.port), "root@127.0.0.1", "hostname"],
                           capture_output=True, text=True, timeout=30, env=env, stdin=subprocess.DEVNULL)
        assert r.stdout.strip() == "guest-two", r.stderr
        _powerdown(guest)
    finally:
        guest.stop()


def test_hard_stop_then_boot_without_seed_keeps_last_state_and_reboot_works(tmp_path):
    disk = public_disk()
    key = ssh_key(tmp_path)
    guest = boot(disk, tmp_path, seed=_seed(tmp_path, key))
    try:
        guest.wait_ssh(key)
        guest.ssh(key, "echo synced > /root/synced; sync")
    finally:
        guest.stop()  # a hard stop (SIGKILL): the ext4 journal is replayed at the next mount
    guest = boot(disk, tmp_path)  # no seed: hostname and keys from the last boot
    try:
        guest.wait_ssh(key)
        first = guest.ssh(key, "hostname; cat /proc/sys/kernel/random/boot_id; cat /root/synced").stdout.split()
        assert first[0] == "guest-one"
        assert first[2] == "synced"
        assert "localcvm-guest: seed" not in guest.serial_text()
        guest.ssh(key, "reboot")
        wait_until(lambda: len(re.findall(r"localcvm-guest: ready", guest.serial_text())) >= 2, timeout=90,
                   what="the second boot")
        second = wait_until(lambda: guest.ssh(key, "cat /proc/sys/kernel/random/boot_id").stdout.split(),
                            timeout=60, what="SSH after the reboot")
        assert second[0] != first[1]
        assert f"localcvm-guest: boot {second[0]}" in guest.serial_text()
        _powerdown(guest)
    finally:
        guest.stop()


def test_cloud_config_keys_password_and_runcmd(tmp_path):
    disk = public_disk()
    key = ssh_key(tmp_path)
    pub = key.with_suffix(".pub").read_text().strip()
    user_data = (f"#cloud-config\nssh_authorized_keys:\n  - {pub}\npassword: 'Cc-pass-1'\n"
                 "runcmd:\n  - echo from runcmd > /root/runcmd\npackages:\n  - nginx\n")
    files = {"meta-data": "instance-id: ins-cloudcfg\nlocal-hostname: cc-host\n", "user-data": user_data}
    data = tmp_path / "data.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(data), "64M"], check=True)
    extra = ["-drive", f"file={data},if=none,id=data1,format=qcow2", "-device", "virtio-blk-pci,drive=data1"]
    guest = boot(disk, tmp_path, seed=make_seed(tmp_path / "seed.img", files), extra=extra)
    try:
        guest.wait_ssh(key)
        out = guest.ssh(key, "hostname; cat /root/runcmd; grep -c '^root:\\$6\\$' /etc/shadow").stdout.split("\n")
        assert out[:3] == ["cc-host", "from runcmd", "1"]
        # a data disk: its size in sectors, and a grown disk seen online (QMP block_resize)
        sizes = "for d in /sys/block/vd*; do echo ${d##*/} $(cat $d/size); done"
        assert "vdb 131072" in guest.ssh(key, sizes).stdout.splitlines()
        assert "return" in guest.qmp("block_resize", device="data1", size=96 * 2**20)
        wait_until(lambda: "vdb 196608" in guest.ssh(key, sizes).stdout.splitlines(), timeout=30,
                   what="the guest to see the grown disk")
        assert guest.ssh(key, "blockdev --getsize64 /dev/vdb").stdout.strip() == str(96 * 2**20)
        _powerdown(guest)
    finally:
        guest.stop()


def test_metadata_address_relayed_to_the_driver_endpoint(tmp_path):
    """With a metadata-endpoint file in the seed, http://metadata.tencentyun.com/ in the guest reaches
    a server on the host's 127.0.0.1 (through QEMU's user-network gateway)."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = {"/latest/meta-data/instance-id": b"ins-meta0001"}.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    disk = public_disk()
    key = ssh_key(tmp_path)
    seed = _seed(tmp_path, key, instance_id="ins-meta0001", **{"metadata-endpoint": f":{server.server_port}\n"})
    guest = boot(disk, tmp_path, seed=seed)
    try:
        guest.wait_ssh(key)
        r = guest.ssh(key, "wget -q -O - http://metadata.tencentyun.com/latest/meta-data/instance-id")
        assert r.stdout == "ins-meta0001", r.stderr
        _powerdown(guest)
    finally:
        guest.stop()
        server.shutdown()

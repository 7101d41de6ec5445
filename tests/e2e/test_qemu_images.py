"""Real VMs (the QEMU driver), acceptance 1: a public Linux image, SSH with the key pair, the metadata
service, a custom image of the changed machine copied to another region and booted there."""

from __future__ import annotations

import pytest

from tests.api.create_image_util import create_and_wait
from tests.api.images_util import wait_image
from tests.api.instances_util import call, instance
from tests.api.share_util import code_of, sync
from tests.e2e.qemu_util import (
    cvm, kill_vms, metadata, overlays, public_linux_image, qemu_pid, qemu_pids_of, qemu_server, run_one, ssh_to,
    user_data,
)
from tests.helpers import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture()
def server(tmp_path):
    srv = qemu_server(tmp_path / "data").start()
    yield srv
    srv.stop()
    kill_vms(srv)  # a failed test must not leak VMs


def test_custom_image_copied_to_another_region_boots_there(server, tmp_path):
    gz = cvm(server)
    key = call(gz, "CreateKeyPair", {"KeyName": "e2e", "ProjectId": 0})
    image = public_linux_image(gz)
    # the catalogue's Windows images have no bootable disk under the QEMU driver: refused, nothing made
    windows = next(i.ImageId for i in call(gz, "DescribeImages", {"Filters": [
        {"Name": "image-type", "Values": ["PUBLIC_IMAGE"]}, {"Name": "platform", "Values": ["Windows"]}]}).ImageSet)
    # RunInstances documents no InstanceOsWindows: the common UnsupportedOperation (docs/error-codes.md)
    assert code_of(lambda: run_one(gz, windows)) == "UnsupportedOperation"
    assert call(gz, "DescribeInstances", {}).TotalCount == 0
    first = run_one(gz, image, LoginSettings={"KeyIds": [key.KeyPair.KeyId]},
                    UserData=user_data("#!/bin/sh\necho from-user-data > /root/user-data.txt\n"))
    shown = instance(gz, first)
    ip = shown.PublicIpAddresses[0]
    assert ip.startswith("127.") and shown.PrivateIpAddresses[0].startswith("172.16.")
    ssh = ssh_to(gz, first, tmp_path, private_key=key.KeyPair.PrivateKey)
    assert ssh.address == ip
    # the metadata service answers as the real one, at its real name
    assert metadata(ssh, "meta-data/instance-id") == first
    assert metadata(ssh, "meta-data/placement/region") == "ap-guangzhou"
    assert metadata(ssh, "meta-data/placement/zone") == "ap-guangzhou-3"
    assert metadata(ssh, "meta-data/local-ipv4") == shown.PrivateIpAddresses[0]
    assert metadata(ssh, "meta-data/public-ipv4") == ip
    assert metadata(ssh, "meta-data/public-keys/0/openssh-key").split()[:2] == key.KeyPair.PublicKey.split()[:2]
    assert "from-user-data" in metadata(ssh, "user-data")
    assert ssh.run("cat /root/user-data.txt") == "from-user-data"  # UserData ran in the guest
    assert ssh.run("hostname") == "VM-" + first.split("-", 1)[1]  # the default hostname of the instance
    # the guest gets the private IP by DHCP
    assert shown.PrivateIpAddresses[0] in ssh.run("ip -4 addr show eth0")
    ssh.run("echo written-before-capture > /root/marker && sync")

    captured = create_and_wait(gz, InstanceId=first, ImageName="e2e-captured", timeout=180)
    assert captured.ImageState == "NORMAL"
    image_id = captured.ImageId
    copy_id = sync(gz, image_id, ["ap-shanghai"])["ap-shanghai"]
    sh = cvm(server, "ap-shanghai")
    assert wait_image(sh, copy_id, timeout=180).ImageState == "NORMAL"
    call(gz, "TerminateInstances", {"InstanceIds": [first]})  # at most two VMs at once on CI
    wait_until(lambda: instance(gz, first) is None, timeout=90, what="the first instance to go")

    second = run_one(sh, copy_id, zone="ap-shanghai-2", LoginSettings={"KeyIds": [key.KeyPair.KeyId]})
    ssh2 = ssh_to(sh, second, tmp_path, private_key=key.KeyPair.PrivateKey)
    assert ssh2.run("cat /root/marker") == "written-before-capture"
    assert metadata(ssh2, "meta-data/instance-id") == second
    assert metadata(ssh2, "meta-data/placement/region") == "ap-shanghai"
    assert ssh2.run("hostname") == "VM-" + second.split("-", 1)[1]  # the new instance's, not the image's
    assert ssh2.run("cat /root/user-data.txt") == "from-user-data"  # the image kept what the first wrote

    # ResetInstance reinstalls from the public image: a fresh disk, a new key pair, the same instance
    key2 = call(sh, "CreateKeyPair", {"KeyName": "e2e2", "ProjectId": 0}).KeyPair
    call(sh, "ResetInstance", {"InstanceId": second, "ImageId": image, "LoginSettings": {"KeyIds": [key2.KeyId]}})
    wait_until(lambda: instance(sh, second).LatestOperationState == "SUCCESS", timeout=120, what="the reset")
    ssh3 = ssh_to(sh, second, tmp_path, private_key=key2.PrivateKey)
    assert ssh3.run("test -e /root/marker || echo fresh") == "fresh"
    assert metadata(ssh3, "meta-data/instance-id") == second

    call(sh, "TerminateInstances", {"InstanceIds": [second]})
    wait_until(lambda: instance(sh, second) is None, timeout=90, what="the second instance to go")
    assert qemu_pid(server, second) is None and qemu_pids_of(server) == []
    assert overlays(server) == []
    assert not (server.data_dir / "vms" / second).exists()

#!/usr/bin/env python3
"""Real VMs: time from RunInstances to a successful SSH login, through `localcvm serve --driver qemu`
and the official SDK; and the launch time of a 100 MiB vs a 10 GiB image (the same bootable disk,
padded: a launch makes a qcow2 overlay over the image's base, so its size must not matter).

The accelerator is the driver's own probe (KVM when it really runs a guest, else TCG); with
``--accel tcg`` or ``--accel kvm`` it is forced. Each figure is the median of ``--runs`` launches,
one VM at a time (memory scaled to 256 MiB, one vCPU). Reference: the real service takes 3-5
minutes from RunInstances to a login.

    python bench/boot.py [--runs 3] [--accel auto|tcg|kvm] [--skip-sizes]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localcvm.hypervisor.qemu.accel import probe  # noqa: E402
from localcvm.imaging.guest import build_public_disk  # noqa: E402
from tests.api.images_util import import_image, wait_image  # noqa: E402
from tests.api.instances_util import call, instance, wait_state  # noqa: E402
from tests.e2e.qemu_util import GUEST_CACHE, Ssh, cvm, kill_vms, public_linux_image, qemu_server  # noqa: E402
from tests.fileserver import file_server  # noqa: E402
from tests.helpers import wait_until  # noqa: E402

MiB = 1024**2
GiB = 1024**3


def one_boot(c, image_id: str, key, work: Path) -> tuple[float, float]:
    """(seconds to RUNNING, seconds to the first successful SSH command) of one new instance; it is
    terminated afterwards."""
    t0 = time.perf_counter()
    (ins,) = call(c, "RunInstances", {
        "Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image_id, "InstanceType": "S5.MEDIUM4",
        "InternetAccessible": {"PublicIpAssigned": True, "InternetMaxBandwidthOut": 10},
        "LoginSettings": {"KeyIds": [key.KeyId]}}).InstanceIdSet
    wait_state(c, [ins], "RUNNING", timeout=300)
    running = time.perf_counter() - t0
    ssh = Ssh(instance(c, ins).PublicIpAddresses[0], work, private_key=key.PrivateKey)
    # a client that retries: an attempt made before the guest listens is dropped after 2 s (its SYN would
    # otherwise wait for the user network's retransmission backoff)
    wait_until(lambda: ssh.run("echo ok", timeout=2) == "ok",
               timeout=300, interval=0.05, what="SSH")
    login = time.perf_counter() - t0
    call(c, "TerminateInstances", {"InstanceIds": [ins]})
    wait_until(lambda: instance(c, ins) is None, timeout=120, what="terminate")
    return running, login


def padded_image(disk: Path, size: int, out: Path) -> Path:
    """The guest disk as a qcow2 of virtual size ``size`` (data: the disk; the rest unallocated)."""
    raw = out.with_suffix(".raw")
    subprocess.run(["cp", "--sparse=always", str(disk), str(raw)], check=True)
    with open(raw, "r+b") as fh:
        fh.truncate(size)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(out)], check=True)
    raw.unlink()
    return out


def bench(accel: str, runs: int, sizes: bool, work: Path) -> None:
    srv = qemu_server(work / f"srv-{accel}", LOCALCVM_QEMU_ACCEL=accel).start()
    try:
        c = cvm(srv)
        key = call(c, "CreateKeyPair", {"KeyName": "bench", "ProjectId": 0}).KeyPair
        public = public_linux_image(c)
        one_boot(c, public, key, work)  # warm: the public image's base is made on first use
        got = [one_boot(c, public, key, work) for _ in range(runs)]
        print(f"[{accel}] public image: RunInstances -> RUNNING median {statistics.median(g[0] for g in got):.2f} s, "
              f"-> SSH login median {statistics.median(g[1] for g in got):.2f} s "
              f"(runs: {', '.join(f'{g[1]:.2f}' for g in got)})", flush=True)
        if not sizes:
            return
        disk = build_public_disk(GUEST_CACHE)
        with file_server(work / "files") as files:
            for label, size in (("100 MiB", 100 * MiB), ("10 GiB", 10 * GiB)):
                name = f"guest-{size // MiB}.qcow2"
                padded_image(disk, size, files.root / name)
                image_id = import_image(c, files.url(name), f"boot-{size // MiB}")
                assert wait_image(c, image_id, timeout=600).ImageState == "NORMAL"
                got = [one_boot(c, image_id, key, work) for _ in range(runs)]
                print(f"[{accel}] {label} image: RunInstances -> RUNNING median "
                      f"{statistics.median(g[0] for g in got):.2f} s, -> SSH login median "
                      f"{statistics.median(g[1] for g in got):.2f} s "
                      f"(runs: {', '.join(f'{g[0]:.2f}/{g[1]:.2f}' for g in got)})", flush=True)
    finally:
        srv.stop()
        kill_vms(srv)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--accel", choices=("auto", "tcg", "kvm"), default="auto")
    ap.add_argument("--skip-sizes", action="store_true", help="only the public image's boot-to-login time")
    args = ap.parse_args()
    disk = build_public_disk(GUEST_CACHE)
    found = probe(disk)
    print(f"accelerator probe: {found.name.upper()} ({found.reason})", flush=True)
    accels = ["tcg"] + (["kvm"] if found.name == "kvm" else []) if args.accel == "auto" else [args.accel]
    if args.accel == "auto" and found.name != "kvm":
        print("KVM figures skipped: KVM is not usable on this machine", flush=True)
    with tempfile.TemporaryDirectory(prefix="lc-bench-boot-") as tmp:
        for accel in accels:
            bench(accel, args.runs, not args.skip_sizes, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())

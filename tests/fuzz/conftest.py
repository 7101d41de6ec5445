"""One real server for the fuzz run, with a second account (B) whose resources must stay untouched."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.api import instances_util, sdk
from tests.conftest import BACKENDS
from tests.helpers import Server, wait_until

from .strategies import Pool

# LOCALCVM_FUZZ_BUDGET multiplies the examples per action (default 1: the CI budget);
# LOCALCVM_FUZZ_BACKEND (sqlite | postgres) picks the server's database; by default PostgreSQL when the
# suite runs its PostgreSQL variants (it enforces column types and lengths that SQLite does not).
BUDGET = float(os.environ.get("LOCALCVM_FUZZ_BUDGET", "1") or 1)
FUZZ_BACKEND = os.environ.get("LOCALCVM_FUZZ_BACKEND") or ("postgres" if "postgres" in BACKENDS else "sqlite")
ID_RE = re.compile(r"\b(?:ins|img|disk|snap|skey)-[a-z0-9]{8}\b")


@dataclass
class FuzzRun:
    server: Server
    pool: Pool
    home: Path
    cwd: Path
    tmp: Path
    b_client: dict
    b_before: dict
    log_offset: int = 0
    requests: int = 0
    codes: Counter = field(default_factory=Counter)
    actions: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    slowest: tuple = (0.0, "")

    def new_log(self) -> str:
        text = self.server.log()
        new, self.log_offset = text[self.log_offset:], len(text)
        return new


def describe_b(clients) -> dict:
    """Everything account B owns, as B sees it (volatile fields dropped)."""
    cvm, cbs = clients["cvm"], clients["cbs"]
    got = {
        "instances": cvm.call_json("DescribeInstances", {"Limit": 100})["Response"]["InstanceSet"],
        "keys": cvm.call_json("DescribeKeyPairs", {"Limit": 100})["Response"]["KeyPairSet"],
        "disks": cbs.call_json("DescribeDisks", {"Limit": 100})["Response"]["DiskSet"],
        "snapshots": cbs.call_json("DescribeSnapshots", {"Limit": 100})["Response"]["SnapshotSet"],
        "images": cvm.call_json("DescribeImages", {"Filters": [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}],
                                                   "Limit": 100})["Response"]["ImageSet"],
    }
    return json.loads(json.dumps(got, sort_keys=True))


def _setup_account_b(srv: Server) -> tuple[dict, list[str]]:
    b = json.loads(srv.cli("accounts", "create", "--name", "fuzz-b", "--json").stdout)
    kw = dict(secret_id=b["SecretId"], secret_key=b["SecretKey"])
    clients = {"cvm": sdk.common(srv, "cvm", **kw), "cbs": sdk.common(srv, "cbs", **kw)}
    cvm, cbs = clients["cvm"], clients["cbs"]
    key = cvm.call_json("CreateKeyPair", {"KeyName": "b_key", "ProjectId": 0})["Response"]["KeyPair"]["KeyId"]
    image = instances_util.public_image(sdk.cvm(srv, **kw))
    ins = cvm.call_json("RunInstances", {
        "Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": image, "InstanceType": "S5.SMALL2",
        "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskSize": 50}, "InstanceName": "b-web",
        "LoginSettings": {"KeyIds": [key]}})["Response"]["InstanceIdSet"][0]
    disk = cbs.call_json("CreateDisks", {"Placement": {"Zone": "ap-guangzhou-3"}, "DiskChargeType": "POSTPAID_BY_HOUR",
                                         "DiskType": "CLOUD_PREMIUM", "DiskSize": 20,
                                         "DiskName": "b-vol"})["Response"]["DiskIdSet"][0]
    instances_util.wait_state(sdk.cvm(srv, **kw), [ins], "RUNNING")

    def settled():
        got = describe_b(clients)
        busy = [d for d in got["disks"] if d["DiskState"] not in ("UNATTACHED", "ATTACHED")]
        busy += [i for i in got["instances"] if i["LatestOperationState"] not in ("SUCCESS", "FAILED")]
        return not busy

    wait_until(settled, timeout=60, what="account B's resources to settle")
    snap = cbs.call_json("CreateSnapshot", {"DiskId": disk, "SnapshotName": "b-snap"})["Response"]["SnapshotId"]
    wait_until(lambda: all(s["SnapshotState"] == "NORMAL" for s in describe_b(clients)["snapshots"]), timeout=60,
               what="account B's snapshot")
    return clients, [key, ins, disk, snap, image]


@pytest.fixture(scope="session")
def fuzz_run(tmp_path_factory, request):
    base = tmp_path_factory.mktemp("fuzz")
    home, cwd, tmp = base / "home", base / "cwd", base / "tmp"
    for d in (home, cwd, tmp):
        d.mkdir()
    env = {"HOME": str(home), "TMPDIR": str(tmp), "XDG_DATA_HOME": str(home / ".local" / "share"),
           "XDG_CACHE_HOME": str(home / ".cache"), "XDG_CONFIG_HOME": str(home / ".config"),
           # no download leaves the machine: ImportImage may reach only a host that does not exist
           "LOCALCVM_IMPORT_ALLOWED_HOSTS": "fuzz.invalid"}
    database_url = ""
    if FUZZ_BACKEND == "postgres":
        database_url = request.getfixturevalue("postgres_cluster").create_database()
    srv = Server(data_dir=base / "data", database_url=database_url, extra_env=env, cwd=cwd).start()
    try:
        clients, b_ids = _setup_account_b(srv)
        pool = Pool(others=b_ids[:4])
        pool.add_seen([b_ids[4]])  # a public image ID
        run = FuzzRun(server=srv, pool=pool, home=home, cwd=cwd, tmp=tmp, b_client=clients,
                      b_before=describe_b(clients))
        run.log_offset = len(srv.log())
        yield run
        print(f"\nfuzz ({FUZZ_BACKEND}, budget {BUDGET:g}): {run.requests} requests over {len(run.actions)} actions in {run.seconds:.1f} s; "
              f"slowest {run.slowest[0] * 1000:.0f} ms ({run.slowest[1]}); answers: {dict(run.codes.most_common())}")
    finally:
        srv.stop()

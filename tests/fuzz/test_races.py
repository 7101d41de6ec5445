"""Concurrency fuzzing of every resource with a life cycle (instances, disks, snapshots, images):
several clients fire random interleavings of its actions at a few resources; afterwards every job
has ended, every resource is in a state the real API can show, and no operation was lost or
applied twice.

The interleavings come from a seeded random generator (LOCALCVM_FUZZ_SEED, printed on failure);
LOCALCVM_FUZZ_BUDGET multiplies the number of calls.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.api import sdk
from tests.api.instances_util import call, public_image, wait_state
from tests.api.share_util import accounts, client, zone_of
from tests.helpers import wait_until

BUDGET = float(os.environ.get("LOCALCVM_FUZZ_BUDGET", "1"))
SEED = int(os.environ.get("LOCALCVM_FUZZ_SEED", str(int(time.time()))))
CLIENTS = 4
CALLS_PER_CLIENT = max(4, int(12 * BUDGET))
# answers a racing call may get besides success: the resource is busy or in the wrong state
EXPECTED = ("OperationDenied.InstanceOperationInProgress", "UnsupportedOperation.Instance", "InvalidDisk",
            "ResourceBusy", "ResourceUnavailable", "InvalidImageId.IncorrectState", "InvalidImageName.Duplicate",
            "ImageQuotaLimitExceeded", "InvalidParameterValue", "UnsupportedOperation", "LimitExceeded",
            "InvalidInstanceId.NotFound", "InvalidDiskId.NotFound", "InvalidSnapshotId.NotFound",
            "InvalidImageId.NotFound", "ResourceNotFound", "InvalidSnapshot", "OperationDenied",
            "ResourceInUse", "InvalidInstance.NotSupported", "InvalidParameter.SnapshotNotFound")


@dataclass
class Log:
    """What the clients saw: accepted calls (action, resource, request id) and refusals."""

    accepted: list[tuple[str, str, str]] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, fn, action: str, resource: str, body: dict) -> None:
        try:
            resp = fn(action, body)
        except TencentCloudSDKException as exc:
            with self.lock:
                if exc.code.startswith(EXPECTED) and exc.code != "InternalError":
                    self.refused.append((action, resource, exc.code))
                else:
                    self.unexpected.append(f"{action} {body} -> {exc.code}: {exc.message}")
            return
        with self.lock:
            self.accepted.append((action, resource, resp["RequestId"]))
            self.answers.append(resp)


def _json_caller(c):
    def do(action, body):
        return c.call_json(action, body)["Response"]
    return do


def _race(workers) -> None:
    threads = [threading.Thread(target=w) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "a client hung"


def _jobs(server, resource_ids: list[str]) -> list[tuple[str, str, str, str]]:
    """(resource, kind, state, error) of every job of the resources."""
    url = server.database_url or f"sqlite:///{server.data_dir / 'localcvm.db'}"
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT resource_id, kind, state, error FROM jobs")).all()
    finally:
        engine.dispose()
    wanted = set(resource_ids)
    return [(r, k, s, e) for r, k, s, e in rows if r in wanted]


def _settled(server, ids: list[str]) -> bool:
    return all(state in ("SUCCEEDED", "FAILED") for _, _, state, _ in _jobs(server, ids))


def _fail_with_seed(log: Log, what: str) -> None:
    assert not log.unexpected, f"seed {SEED}: unexpected answers in the {what} race: {log.unexpected[:5]}"


def test_instance_operations_race(server):
    rng = random.Random(SEED)
    (acct,) = accounts(server, 1, "race")
    c = client(server, acct)
    cvm = _json_caller(sdk.common(server, "cvm", secret_id=acct["SecretId"], secret_key=acct["SecretKey"]))
    ids = call(c, "RunInstances", {
        "Placement": {"Zone": zone_of(c)}, "ImageId": public_image(c), "InstanceType": "S5.MEDIUM4",
        "InstanceCount": 3, "LoginSettings": {"Password": "Passw0rd!x"},
        "DataDisks": [{"DiskType": "CLOUD_PREMIUM", "DiskSize": 20}]}).InstanceIdSet
    wait_state(c, ids, "RUNNING", timeout=60)
    data_disk = {i.InstanceId: i.DataDisks[0].DiskId for i in call(c, "DescribeInstances", {"InstanceIds": ids}).InstanceSet}
    grow = {i: iter(range(30, 10_000, 10)) for i in ids}
    log = Log()
    actions = {
        "ResizeInstanceDisks": lambda i: {"InstanceId": i, "DataDisks": [{"DiskId": data_disk[i], "DiskSize": next(grow[i])}]},
        "StartInstances": lambda i: {"InstanceIds": [i]},
        "StopInstances": lambda i: {"InstanceIds": [i]},
        "RebootInstances": lambda i: {"InstanceIds": [i]},
        "ResetInstancesPassword": lambda i: {"InstanceIds": [i], "Password": "Passw0rd!y"},
        "ModifyInstancesAttribute": lambda i: {"InstanceIds": [i], "InstanceName": f"n{rng.randrange(99)}"},
    }

    def worker(n: int) -> None:
        r = random.Random(SEED + n)
        for _ in range(CALLS_PER_CLIENT):
            action, target = r.choice(sorted(actions)), r.choice(ids)
            log.run(cvm, action, target, actions[action](target))

    _race([lambda n=n: worker(n) for n in range(CLIENTS)])
    _fail_with_seed(log, "instance")
    print("STATS instance", len(log.accepted), len(log.refused), sorted({c for _, _, c in log.refused}))
    wait_until(lambda: _settled(server, ids), timeout=120, what="every instance job ended")
    shown = {i.InstanceId: i for i in call(c, "DescribeInstances", {"InstanceIds": ids}).InstanceSet}
    final = {"StartInstances": "RUNNING", "StopInstances": "STOPPED", "RebootInstances": "RUNNING"}
    jobs = _jobs(server, ids)
    assert all(state == "SUCCEEDED" for _, _, state, _ in jobs), f"seed {SEED}: failed jobs {jobs}"
    for iid in ids:
        inst = shown[iid]
        assert inst.InstanceState in ("RUNNING", "STOPPED"), (SEED, iid, inst.InstanceState)
        assert inst.LatestOperationState == "SUCCESS", (SEED, iid, inst.LatestOperationState)
        mine = [(a, rid) for a, r, rid in log.accepted if r == iid]
        # the last accepted operation is the one the instance shows, and its state is that operation's
        last = [a for a, rid in mine if rid == inst.LatestOperationRequestId]
        if last:
            assert inst.LatestOperation == last[0], (SEED, iid)
            assert final.get(last[0], inst.InstanceState) == inst.InstanceState, (SEED, iid, last[0])
        # each accepted power operation ran exactly once: one job each, none lost, none doubled
        power_ops = sum(1 for a, _ in mine if a in final)
        power_jobs = sum(1 for r, k, _, _ in jobs if r == iid and k == "instance_power")
        assert power_jobs == power_ops, (SEED, iid, power_jobs, power_ops)


def test_disk_and_snapshot_operations_race(server):
    rng = random.Random(SEED)
    (acct,) = accounts(server, 1, "race")
    c = client(server, acct)
    zone = zone_of(c)
    cbs = _json_caller(sdk.common(server, "cbs", secret_id=acct["SecretId"], secret_key=acct["SecretKey"]))
    (iid,) = call(c, "RunInstances", {
        "Placement": {"Zone": zone}, "ImageId": public_image(c), "InstanceType": "S5.MEDIUM4",
        "LoginSettings": {"Password": "Passw0rd!x"}}).InstanceIdSet
    wait_state(c, [iid], "RUNNING", timeout=60)
    disks = cbs("CreateDisks", {"Placement": {"Zone": zone}, "DiskType": "CLOUD_PREMIUM", "DiskSize": 20,
                                "DiskChargeType": "POSTPAID_BY_HOUR", "DiskCount": 3})["DiskIdSet"]
    wait_until(lambda: all(d["DiskState"] == "UNATTACHED" for d in cbs("DescribeDisks", {"DiskIds": disks})["DiskSet"]),
               timeout=60, what="disks UNATTACHED")
    log = Log()
    sizes = {d: 20 for d in disks}
    actions = {
        "AttachDisks": lambda d: {"DiskIds": [d], "InstanceId": iid},
        "DetachDisks": lambda d: {"DiskIds": [d]},
        "ResizeDisk": lambda d: {"DiskId": d, "DiskSize": sizes[d] + rng.randrange(1, 5)},
        "CreateSnapshot": lambda d: {"DiskId": d},
    }

    def worker(n: int) -> None:
        r = random.Random(SEED + 100 + n)
        for _ in range(CALLS_PER_CLIENT):
            action, target = r.choice(sorted(actions)), r.choice(disks)
            log.run(cbs, action, target, actions[action](target))

    _race([lambda n=n: worker(n) for n in range(CLIENTS)])
    _fail_with_seed(log, "disk")
    print("STATS disk", len(log.accepted), len(log.refused), sorted({c for _, _, c in log.refused}))
    snaps = [a["SnapshotId"] for a in log.answers if "SnapshotId" in a]
    wait_until(lambda: _settled(server, disks + snaps + [iid]), timeout=120, what="every disk and snapshot job ended")
    shown = cbs("DescribeDisks", {"DiskIds": disks})["DiskSet"]
    for d in shown:
        assert d["DiskState"] in ("ATTACHED", "UNATTACHED"), (SEED, d["DiskId"], d["DiskState"])
        assert d["Attached"] == (d["DiskState"] == "ATTACHED") and (d["InstanceId"] == iid) == d["Attached"], (SEED, d)
    attached = {d["DiskId"] for d in shown if d["Attached"]}
    on_instance = {x.DiskId for x in call(c, "DescribeInstances", {"InstanceIds": [iid]}).InstanceSet[0].DataDisks or []}
    assert attached == on_instance, (SEED, attached, on_instance)
    accepted_snaps = sum(1 for a, _, _ in log.accepted if a == "CreateSnapshot")
    failed = [j for j in _jobs(server, disks + snaps) if j[2] != "SUCCEEDED"]
    assert not failed, f"seed {SEED}: failed disk or snapshot jobs {failed}"
    states: list[str] = []
    while len(states) < accepted_snaps + 1:  # every page, whatever the budget made
        page = cbs("DescribeSnapshots", {"Offset": len(states), "Limit": 100})["SnapshotSet"]
        if not page:
            break
        states += [s["SnapshotState"] for s in page]
    assert len(states) == accepted_snaps and all(s == "NORMAL" for s in states), (SEED, len(states), accepted_snaps)
    instance = call(c, "DescribeInstances", {"InstanceIds": [iid]}).InstanceSet[0]
    assert instance.InstanceState == "RUNNING" and instance.LatestOperationState in ("SUCCESS", None), (SEED, instance)


def test_image_operations_race(server):
    rng = random.Random(SEED)
    (acct,) = accounts(server, 1, "race")
    c = client(server, acct)
    cvm = _json_caller(sdk.common(server, "cvm", secret_id=acct["SecretId"], secret_key=acct["SecretKey"]))
    (iid,) = call(c, "RunInstances", {
        "Placement": {"Zone": zone_of(c)}, "ImageId": public_image(c), "InstanceType": "S5.MEDIUM4",
        "LoginSettings": {"Password": "Passw0rd!x"}}).InstanceIdSet
    wait_state(c, [iid], "RUNNING", timeout=60)
    log = Log()
    made: list[str] = []

    def images() -> list[str]:
        got = cvm("DescribeImages", {"Filters": [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}], "Limit": 100})
        return [i["ImageId"] for i in got["ImageSet"]]

    def worker(n: int) -> None:
        r = random.Random(SEED + 200 + n)
        for _ in range(CALLS_PER_CLIENT):
            pick = r.random()
            current = images()
            if pick < 0.4 or not current:
                log.run(cvm, "CreateImage", iid, {"InstanceId": iid, "ImageName": f"race-{n}-{r.randrange(5)}"})
            elif pick < 0.6:
                target = r.choice(current)
                log.run(cvm, "DeleteImages", target, {"ImageIds": [target]})
            elif pick < 0.8:
                target = r.choice(current)
                log.run(cvm, "ModifyImageAttribute", target, {"ImageId": target, "ImageName": f"m{rng.randrange(50)}"})
            else:
                target = r.choice(current)
                log.run(cvm, "SyncImages", target, {"ImageIds": [target], "DestinationRegions": ["ap-shanghai"]})

    _race([lambda n=n: worker(n) for n in range(CLIENTS)])
    _fail_with_seed(log, "image")
    print("STATS image", len(log.accepted), len(log.refused), sorted({c for _, _, c in log.refused}))
    made = images()
    wait_until(lambda: _settled(server, made + [iid]), timeout=180, what="every image job ended")

    def private_states() -> set[str]:
        got = cvm("DescribeImages", {"ImageIds": made} if made else {"Limit": 1})["ImageSet"]
        return {i["ImageState"] for i in got if i["ImageType"] == "PRIVATE_IMAGE"}

    # a source shows SYNCING while a copy of it runs: that copy's job is the copy image's, in Shanghai
    wait_until(lambda: "SYNCING" not in private_states(), timeout=180, what="every copy of the images to end")
    for image in cvm("DescribeImages", {"ImageIds": made} if made else {"Limit": 1})["ImageSet"]:
        if image["ImageType"] == "PRIVATE_IMAGE":
            assert image["ImageState"] in ("NORMAL", "CREATEFAILED"), (SEED, image["ImageId"], image["ImageState"])
    creates = sum(1 for a, _, _ in log.accepted if a == "CreateImage")
    deletes = sum(1 for a, _, _ in log.accepted if a == "DeleteImages")
    assert len(made) == creates - deletes, (SEED, len(made), creates, deletes)
    instance = call(c, "DescribeInstances", {"InstanceIds": [iid]}).InstanceSet[0]
    assert instance.InstanceState == "RUNNING" and instance.LatestOperationState == "SUCCESS", (SEED, instance)

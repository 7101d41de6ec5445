"""The scenario every official client runs (issue 17, acceptance 1), written once.

Regions, zones, public images; RunInstances and wait for RUNNING; CreateImage and wait for
NORMAL; SyncImages to another region and wait for the copy; an error case. Everything it
creates is deleted again (the session's server is shared: 10 custom images per region).
"""

from __future__ import annotations

import time
import uuid

from .clients import ApiError

REGION = "ap-guangzhou"
ZONE = "ap-guangzhou-3"
COPY_REGION = "ap-shanghai"


def wait_for(client, region: str, action: str, params: dict, done, what: str, timeout: float = 120):
    """Poll ``action`` until ``done(response)`` is truthy; returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = client.call(region, action, params)
        found = done(last)
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last answer: {last}")


def _image_in(state: str, image_id: str):
    def done(resp):
        images = [i for i in resp["ImageSet"] if i["ImageId"] == image_id]
        if images and images[0]["ImageState"] in ("CREATEFAILED", "IMPORTFAILED"):
            raise AssertionError(f"{image_id} failed: {images[0]}")
        return images[0] if images and images[0]["ImageState"] == state else None
    return done


def small_public_image(client) -> dict:
    images = client.call(REGION, "DescribeImages", {
        "Filters": [{"Name": "image-type", "Values": ["PUBLIC_IMAGE"]}, {"Name": "platform", "Values": ["Ubuntu"]}],
        "Limit": 100})["ImageSet"]
    assert images, "no public Ubuntu image"
    return min(images, key=lambda i: (i["ImageSize"], i["ImageId"]))


def run_scenario(client, label: str) -> dict:
    """Run the scenario through ``client``; returns what it saw (IDs, states, the error code)."""
    seen: dict = {}
    regions = client.call(REGION, "DescribeRegions", {})
    assert {REGION, COPY_REGION} <= {r["Region"] for r in regions["RegionSet"]}, regions
    zones = client.call(REGION, "DescribeZones", {})
    assert ZONE in {z["Zone"] for z in zones["ZoneSet"]}, zones
    public = small_public_image(client)
    seen["public_image"] = public["ImageId"]
    instance_id = copy_id = image_id = None
    try:
        instance_id = client.call(REGION, "RunInstances", {
            "ImageId": public["ImageId"], "InstanceType": "S5.MEDIUM4", "Placement": {"Zone": ZONE},
            "InstanceName": f"compat-{label}"[:60]})["InstanceIdSet"][0]
        running = wait_for(client, REGION, "DescribeInstances", {"InstanceIds": [instance_id]},
                           lambda r: r["InstanceSet"] and r["InstanceSet"][0]["InstanceState"] == "RUNNING"
                           and r["InstanceSet"][0], f"{instance_id} to be RUNNING")
        seen["instance"] = running
        name = f"compat-{label}-{uuid.uuid4().hex[:8]}"[:60]
        image_id = client.call(REGION, "CreateImage", {"InstanceId": instance_id, "ImageName": name})["ImageId"]
        seen["image"] = wait_for(client, REGION, "DescribeImages", {"ImageIds": [image_id]},
                                 _image_in("NORMAL", image_id), f"{image_id} to be NORMAL")
        copies = client.call(REGION, "SyncImages", {"ImageIds": [image_id], "DestinationRegions": [COPY_REGION],
                                                    "ImageSetRequired": True})["ImageSet"]
        assert [c["Region"] for c in copies] == [COPY_REGION], copies
        copy_id = copies[0]["ImageId"]
        seen["copy"] = wait_for(client, COPY_REGION, "DescribeImages", {"ImageIds": [copy_id]},
                                _image_in("NORMAL", copy_id), f"the copy {copy_id} to be NORMAL")
        seen["error"] = _error_case(client)
    finally:
        _clean_up(client, instance_id, image_id, copy_id)
    return seen


def _error_case(client) -> str:
    try:
        client.call(REGION, "DescribeInstances", {"InstanceIds": ["ins-bad"]})
    except ApiError as exc:
        return exc.code
    raise AssertionError("DescribeInstances with a malformed instance ID succeeded")


def _clean_up(client, instance_id, image_id, copy_id) -> None:
    """Delete what the scenario made; a copy is deleted once it ended (a source being copied is busy)."""
    if copy_id:
        wait_for(client, COPY_REGION, "DescribeImages", {"ImageIds": [copy_id]},
                 lambda r: r["ImageSet"] and r["ImageSet"][0]["ImageState"] != "SYNCING", "the copy to end")
        client.call(COPY_REGION, "DeleteImages", {"ImageIds": [copy_id]})
    if image_id:
        wait_for(client, REGION, "DescribeImages", {"ImageIds": [image_id]},  # SYNCING while copied
                 lambda r: r["ImageSet"] and r["ImageSet"][0]["ImageState"] not in ("CREATING", "SYNCING"),
                 "the image's operations to end")
        client.call(REGION, "DeleteImages", {"ImageIds": [image_id]})
    if instance_id:
        wait_for(client, REGION, "DescribeInstances", {"InstanceIds": [instance_id]},
                 lambda r: r["InstanceSet"] and r["InstanceSet"][0]["LatestOperationState"] != "OPERATING",
                 "the instance's operation to end")
        client.call(REGION, "TerminateInstances", {"InstanceIds": [instance_id]})

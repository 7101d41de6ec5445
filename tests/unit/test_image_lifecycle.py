"""The image life cycle (services/images/lifecycle.py): every transition, allowed or not."""

from __future__ import annotations

import itertools

import pytest

from localcvm.blobs import CHUNK_SIZE, Manifest
from localcvm.services import errors
from localcvm.services.images import lifecycle
from localcvm.store.models import Image, ImageDisk

STATES = ("IMPORTING", "CREATING", "SYNCING", "NORMAL", "IMPORTFAILED", "CREATEFAILED")
ALLOWED = {("IMPORTING", "NORMAL"), ("IMPORTING", "IMPORTFAILED"), ("CREATING", "NORMAL"),
           ("CREATING", "CREATEFAILED"), ("SYNCING", "NORMAL"), ("SYNCING", "CREATEFAILED")}


def image(state: str) -> Image:
    return Image(image_id="img-00000001", state=state, size_gib=0, sync_percent=40, error="")


def disks(n: int) -> list[ImageDisk]:
    return [ImageDisk(image_id="img-00000001", index=i, snapshot_id=f"snap-0000000{i}", virtual_size=0, manifest=None)
            for i in range(n)]


def manifest(gib: float) -> Manifest:
    size = int(gib * 1024**3)
    return Manifest(virtual_size=size, chunk_size=CHUNK_SIZE, chunks=[None] * -(-size // CHUNK_SIZE))


def test_the_states_are_the_ones_the_module_declares():
    assert set(lifecycle.TRANSITIONS) == set(STATES)
    assert lifecycle.BUSY == ("IMPORTING", "CREATING", "SYNCING")


@pytest.mark.parametrize("current,new", list(itertools.product(STATES, STATES)))
def test_which_state_may_follow_which(current, new):
    assert lifecycle.may_follow(current, new) == ((current, new) in ALLOWED)


@pytest.mark.parametrize("state,failed", [("IMPORTING", "IMPORTFAILED"), ("CREATING", "CREATEFAILED"),
                                          ("SYNCING", "CREATEFAILED")])
def test_a_failed_job_turns_each_busy_state_into_its_failure(state, failed):
    row = image(state)
    assert lifecycle.fail(row, "x" * 2000)
    assert row.state == failed and row.error == "x" * 1024 and row.sync_percent is None
    assert lifecycle.may_follow(state, failed)


@pytest.mark.parametrize("state", ["NORMAL", "IMPORTFAILED", "CREATEFAILED"])
def test_a_failure_never_changes_a_final_state(state):
    row = image(state)
    assert not lifecycle.fail(row, "late failure")
    assert row.state == state and row.error == "" and row.sync_percent == 40


@pytest.mark.parametrize("state", ["IMPORTING", "CREATING", "SYNCING"])
def test_finishing_writes_the_manifests_then_normal(state):
    row, ds = image(state), disks(2)
    assert lifecycle.complete(row, ds, {0: manifest(2), 1: manifest(1)})
    assert row.state == "NORMAL" and row.sync_percent is None
    assert [Manifest.from_json(d.manifest).virtual_size for d in ds] == [2 * 1024**3, 1024**3]
    assert [d.virtual_size for d in ds] == [2 * 1024**3, 1024**3]
    assert row.size_gib == 0  # only an import learns the image's size


def test_finishing_an_import_sets_the_size_from_the_system_disk():
    row, ds = image("IMPORTING"), disks(1)
    assert lifecycle.complete(row, ds, {0: manifest(1.5)}, resize=True)
    assert row.size_gib == 2  # rounded up to whole GiB


@pytest.mark.parametrize("state", ["NORMAL", "IMPORTFAILED", "CREATEFAILED"])
def test_finishing_changes_nothing_once_the_state_is_final(state):
    row, ds = image(state), disks(1)
    assert not lifecycle.complete(row, ds, {0: manifest(1)}, resize=True)
    assert row.state == state and ds[0].manifest is None and row.size_gib == 0


@pytest.mark.parametrize("state", STATES)
def test_delete_images_refuses_busy_images_only(state):
    row = image(state)
    if state in lifecycle.BUSY:
        with pytest.raises(errors.InvalidImageIdIncorrectState):
            lifecycle.check_deletable(row)
    else:
        lifecycle.check_deletable(row)


@pytest.mark.parametrize("state", STATES)
def test_sharing_copying_and_exporting_need_normal(state):
    row = image(state)
    if state == "NORMAL":
        lifecycle.check_normal(row)
    else:
        with pytest.raises(errors.InvalidImageIdIncorrectState, match=f"is {state}, not NORMAL"):
            lifecycle.check_normal(row)


def test_failure_text():
    assert lifecycle.failure_text(errors.InvalidParameterValue("bad value")) == "bad value"
    assert lifecycle.failure_text(OSError("disk full")) == "OSError: disk full"


def test_delete_images_refuses_the_source_of_a_running_copy():
    row = image("NORMAL")
    with pytest.raises(errors.InvalidImageIdIncorrectState, match="img-copy0001"):
        lifecycle.check_deletable(row, ["img-copy0001"])
    lifecycle.check_deletable(row, [])

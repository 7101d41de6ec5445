"""The life cycle of a custom image: every state transition is made here.

A custom image starts busy (``IMPORTING`` for ImportImage, ``CREATING`` for
CreateImage, ``SYNCING`` for the copy SyncImages makes) and ends ``NORMAL`` when
its job finishes, or in a failure state when the job fails: ``IMPORTFAILED``
for an import, ``CREATEFAILED`` for a capture and for a copy (the real
ImageState has no copy failure of its own; a failed copy never became an image
of its region). NORMAL and the failure states are final. DeleteImages refuses
a busy image, as the real API does for an image whose operation is running.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ...blobs import Manifest
from ...store.models import Image, ImageDisk
from .. import errors

IMPORTING = "IMPORTING"
CREATING = "CREATING"
SYNCING = "SYNCING"
NORMAL = "NORMAL"
IMPORTFAILED = "IMPORTFAILED"
CREATEFAILED = "CREATEFAILED"

BUSY = (IMPORTING, CREATING, SYNCING)
#: what a failed job turns each busy state into
FAILED_STATE = {IMPORTING: IMPORTFAILED, CREATING: CREATEFAILED, SYNCING: CREATEFAILED}
#: which states may follow which (anything not listed is final)
TRANSITIONS: dict[str, frozenset[str]] = {
    IMPORTING: frozenset({NORMAL, IMPORTFAILED}),
    CREATING: frozenset({NORMAL, CREATEFAILED}),
    SYNCING: frozenset({NORMAL, CREATEFAILED}),
    NORMAL: frozenset(),
    IMPORTFAILED: frozenset(),
    CREATEFAILED: frozenset(),
}
GIB = 1024**3
MAX_ERROR = 1024


def may_follow(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


def is_busy(state: str) -> bool:
    return state in BUSY


def failure_text(exc: BaseException) -> str:
    """What a failed job records as the image's error."""
    return exc.message if isinstance(exc, errors.ApiError) else f"{type(exc).__name__}: {exc}"


def fail(image: Image, message: str) -> bool:
    """A busy image's job failed: the image takes its failure state and the reason.
    False (and nothing changes) when the image is not busy any more."""
    if not is_busy(image.state):
        return False
    image.state = FAILED_STATE[image.state]
    image.error = message[:MAX_ERROR]
    image.sync_percent = None
    return True


def complete(image: Image, disks: list[ImageDisk], manifests: Mapping[int, Manifest], *,
             resize: bool = False) -> bool:
    """A busy image's job finished: its disks get their manifests (written last, so a disk with a
    manifest is complete) and the image turns NORMAL. ``resize``: the image's size becomes its
    system disk's (an import learns it only now). False (and nothing changes) when the image
    is not busy any more."""
    if not may_follow(image.state, NORMAL):
        return False
    for disk in disks:
        manifest = manifests.get(disk.index)
        if manifest is not None:
            disk.manifest, disk.virtual_size = manifest.to_json(), manifest.virtual_size
    if resize and 0 in manifests:
        image.size_gib = max(1, math.ceil(manifests[0].virtual_size / GIB))
    image.state = NORMAL
    image.sync_percent = None
    return True


def check_deletable(image: Image, copies: Sequence[str] = ()) -> None:
    """DeleteImages refuses an image whose operation is running: an import, a capture, a copy into
    this region, or (``copies``: the IDs of its copies still SYNCING) a copy of it to another region."""
    if is_busy(image.state):
        raise errors.InvalidImageIdIncorrectState(
            f"The image `{image.image_id}` is {image.state}; delete it once the operation has finished."
        )
    if copies:
        raise errors.InvalidImageIdIncorrectState(
            f"The image `{image.image_id}` is being copied to another region ({', '.join(copies)} still SYNCING); "
            "delete it once the copy has finished."
        )


def check_normal(image: Image, why: str = "") -> None:
    """Sharing, copying and exporting need a NORMAL image."""
    if image.state != NORMAL:
        raise errors.InvalidImageIdIncorrectState(why or f"The image `{image.image_id}` is {image.state}, not NORMAL.")


# --- deprecation (ModifyImageAttribute ImageDeprecated; image families) ------------------------------
# Deprecation is a flag beside the state, not a state: a deprecated image stays NORMAL (DescribeImages
# shows ``ImageDeprecated``), leaves its family (DescribeImageFromFamily skips it) and launches no new
# instance; clearing the flag restores it.


def set_deprecated(image: Image, deprecated: bool) -> None:
    """ModifyImageAttribute's ``ImageDeprecated``: only a NORMAL image is (un)deprecated."""
    if image.state != NORMAL:
        raise errors.InvalidImageIdIncorrectState(
            f"The image `{image.image_id}` is {image.state}; only a NORMAL image can be deprecated or restored."
        )
    image.deprecated = deprecated


def family_member(image, family: str) -> bool:
    """The image (a row or a view) counts for DescribeImageFromFamily's ``family``: NORMAL, not deprecated."""
    return bool(family) and image.family == family and image.state == NORMAL and not image.deprecated


def check_launchable(image) -> None:
    """RunInstances' image (a row or a view): NORMAL and not deprecated."""
    if image.state != NORMAL:
        raise errors.InvalidImageIdIncorrectState(f"The image `{image.image_id}` is {image.state}, not NORMAL.")
    if image.deprecated:
        # RunInstances lists InvalidParameterValue.InvalidImageId ("the image does not allow this operation")
        raise errors.InvalidParameterValueInvalidImageId(
            f"The image `{image.image_id}` is deprecated; restore it (ModifyImageAttribute ImageDeprecated=false) "
            "or launch from the newest image of its family (DescribeImageFromFamily)."
        )

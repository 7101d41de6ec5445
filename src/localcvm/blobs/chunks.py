"""Transitional alias of the package surface, for modules not yet moved to it.

Everything here is importable from ``localcvm.blobs`` itself; import it from
there. Delete this module once nothing imports ``localcvm.blobs.chunks``.
"""

from __future__ import annotations

from . import CHUNK_SIZE, Manifest, gc, read_image, sha256_hex, write_image

__all__ = ["CHUNK_SIZE", "Manifest", "gc", "read_image", "sha256_hex", "write_image"]

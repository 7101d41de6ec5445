"""Where bytes live: one chunk namespace per region, and the buckets for exports."""

from __future__ import annotations

import threading
from pathlib import Path

from .store import ChunkStore
from ..config import Settings


class BlobRegistry:
    """The chunk store of each region (created on first use, then cached)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._stores: dict[str, ChunkStore] = {}
        self._lock = threading.Lock()

    def store(self, region: str) -> ChunkStore:
        with self._lock:
            store = self._stores.get(region)
            if store is None:
                store = self._open(region)
                self._stores[region] = store
            return store

    def _open(self, region: str) -> ChunkStore:
        s = self.settings
        if s.blob_backend == "s3":
            from .s3 import S3ChunkStore

            store = S3ChunkStore(
                endpoint_url=s.s3_endpoint or None, bucket=s.s3_bucket, prefix=f"blobs/{region}",
                access_key=s.s3_access_key or None, secret_key=s.s3_secret_key or None, region=s.s3_region,
            )
            store.ensure_bucket()
            return store
        from .local import LocalChunkStore

        return LocalChunkStore(Path(s.data_dir) / "blobs" / region)

    def work_dir(self, name: str) -> Path:
        """A scratch directory inside the data dir (same filesystem as the local stores)."""
        path = Path(self.settings.data_dir) / "work" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()

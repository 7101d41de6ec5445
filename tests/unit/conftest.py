"""Fixtures of the blob-store and imaging unit tests (``blob_*``, ``img_*``).

``blob_store`` runs each interface test against every backend: a local
directory store and an S3 store on a real S3-compatible server (SeaweedFS,
started once per session by ``tests/s3server.py``).
"""

from __future__ import annotations

import shutil
import uuid

import pytest


BLOB_BACKENDS = ["local", "s3"]
BLOB_BUCKET = "localcvm-unit"


@pytest.fixture(scope="session")
def blob_s3_server(s3_creds):
    """(endpoint_url, access_key, secret_key) of the session-wide S3 server."""
    return s3_creds


@pytest.fixture
def blob_store_factory(request, tmp_path):
    """``make(kind)`` -> a new, empty store of that kind ("local" or "s3").

    Every S3 store gets its own prefix, so tests never see each other's
    chunks; stores are closed at teardown.
    """
    made = []

    def make(kind: str):
        if kind == "local":
            from localcvm.blobs import LocalChunkStore

            store = LocalChunkStore(tmp_path / f"store-{len(made)}")
        elif kind == "s3":
            from localcvm.blobs import S3ChunkStore

            endpoint, key, secret = request.getfixturevalue("blob_s3_server")
            store = S3ChunkStore(endpoint, BLOB_BUCKET, f"t-{uuid.uuid4().hex[:12]}/ap-guangzhou", key, secret)
            store.ensure_bucket()
        else:  # pragma: no cover
            raise ValueError(kind)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture(params=BLOB_BACKENDS)
def blob_kind(request):
    return request.param


@pytest.fixture
def blob_store(blob_kind, blob_store_factory):
    """An empty chunk store, once per backend."""
    return blob_store_factory(blob_kind)


@pytest.fixture
def img_dir(tmp_path):
    """A scratch directory for image files."""
    d = tmp_path / "img"
    d.mkdir()
    return d


@pytest.fixture(scope="session")
def img_qemu_img():
    """Path of qemu-img; the imaging tests need the real tool."""
    path = shutil.which("qemu-img")
    if path is None:
        pytest.skip("qemu-img not installed (apt-get install qemu-utils)")
    return path


@pytest.fixture
def services(tmp_path):
    """The services in process on a fresh data dir, with no workers (a test leases the jobs)."""
    from localcvm.config import Settings
    from localcvm.services.core import Services

    s = Services(Settings.load(data_dir=tmp_path / "data", workers=0, strict_errors=True))
    yield s
    s.close()

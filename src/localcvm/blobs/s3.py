"""A chunk store in an S3 (or S3-compatible) bucket.

Keys, under an optional prefix (one prefix or bucket per region)::

    <prefix>/chunks/<sha256 hex>

S3 writes are atomic per object, so there are no temporaries. Uploads carry
``Content-MD5`` so the server rejects a body damaged in transit (important:
a chunk stored corrupt under its name would otherwise be trusted by dedup
until a read noticed); reads verify the SHA-256 as for every store.

boto3 is imported lazily so that importing ``localcvm.blobs`` does not need
it unless an S3 store is used.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from typing import Any

from .errors import ChunkCorrupt, ChunkMissing, ChunkStoreError
from .manifest import check_digest, is_digest, verify_chunk
from .store import ChunkInfo, ChunkStore

__all__ = ["S3ChunkStore"]

# Codes meaning "no such object" (HEAD answers carry no body, hence "404").
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3ChunkStore(ChunkStore):
    """Chunks as objects of one bucket under ``prefix``.

    ``endpoint_url`` is the S3 endpoint (``None`` for AWS itself); path-style
    addressing is used, which every S3-compatible server understands.
    Thread-safe: one boto3 client (itself thread-safe) with a connection
    pool sized for ``parallelism`` concurrent transfers.
    """

    parallelism = 8

    def __init__(
        self,
        endpoint_url: str | None,
        bucket: str,
        prefix: str = "",
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = "us-east-1",
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_attempts: int = 5,
        verify_tls: bool | str = True,
    ) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ChunkStoreError("the S3 chunk store needs the 'boto3' package") from exc

        self.endpoint_url = endpoint_url
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.region = region
        config = Config(
            region_name=region,
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max(16, self.parallelism * 2),
            # We send Content-MD5 ourselves; the newer default (CRC trailers
            # with aws-chunked bodies) is not understood by every S3 clone.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._s3 = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
            verify=verify_tls,
        )

    def __repr__(self) -> str:
        return f"S3ChunkStore({self.endpoint_url!r}, bucket={self.bucket!r}, prefix={self.prefix!r})"

    # -- keys and error plumbing ------------------------------------------

    def _key(self, *parts: str) -> str:
        return "/".join(([self.prefix] if self.prefix else []) + list(parts))

    def _chunk_key(self, digest: str) -> str:
        return self._key("chunks", check_digest(digest))

    def _fail(self, op: str, key: str, exc: Exception) -> ChunkStoreError:
        return ChunkStoreError(f"S3 {op} s3://{self.bucket}/{key} failed: {exc}")

    def _call(self, op: str, key: str, fn: Any, **kwargs: Any) -> Any:
        """Call a client method; map 'not found' to None, wrap other errors."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, Key=key, **kwargs)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND:
                return None
            raise self._fail(op, key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail(op, key, exc) from exc

    def _put_object(self, key: str, body: bytes | bytearray) -> None:
        md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
        if self._call("PutObject", key, self._s3.put_object, Body=bytes(body), ContentMD5=md5) is None:
            raise ChunkStoreError(f"S3 bucket {self.bucket!r} does not exist")

    # -- bucket -------------------------------------------------------------

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet."""
        from botocore.exceptions import ClientError

        try:
            self._s3.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in _NOT_FOUND | {"NoSuchBucket"}:
                raise ChunkStoreError(f"S3 bucket {self.bucket!r} is not usable: {exc}") from exc
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region and self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._s3.create_bucket(**kwargs)
        except ClientError as exc:
            if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise ChunkStoreError(f"cannot create S3 bucket {self.bucket!r}: {exc}") from exc

    # -- chunks -------------------------------------------------------------

    def has(self, digest: str) -> bool:
        key = self._chunk_key(digest)
        return self._call("HeadObject", key, self._s3.head_object) is not None

    def get(self, digest: str) -> bytes:
        key = self._chunk_key(digest)
        resp = self._call("GetObject", key, self._s3.get_object)
        if resp is None:
            raise ChunkMissing(digest, f"s3://{self.bucket}/{self._key('chunks')}")
        try:
            data = resp["Body"].read()
        except Exception as exc:  # connection dropped mid-body
            raise self._fail("GetObject", key, exc) from exc
        verify_chunk(digest, data)
        return data

    def put(self, digest: str, data: bytes | bytearray, *, trusted: bool = False) -> None:
        key = self._chunk_key(digest)
        if not trusted:
            verify_chunk(digest, data)
        self._put_object(key, data)

    def touch(self, digest: str, length: int | None = None) -> bool:  # S3 puts are all-or-nothing
        # A server-side copy onto itself with new metadata refreshes
        # LastModified without moving the data through us.
        key = self._chunk_key(digest)
        resp = self._call(
            "CopyObject",
            key,
            self._s3.copy_object,
            CopySource={"Bucket": self.bucket, "Key": key},
            MetadataDirective="REPLACE",
            Metadata={"touched": str(int(time.time()))},
        )
        return resp is not None

    def same_endpoint(self, other: ChunkStore) -> bool:
        """Whether ``other`` is an S3 store of this endpoint (server-side copies between them work)."""
        return isinstance(other, S3ChunkStore) and other.endpoint_url == self.endpoint_url

    def adopt_from(self, src: ChunkStore, wanted: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """Server-side ``CopyObject`` of the chunks this store lacks from another store of the same
        S3 endpoint: no chunk byte passes through localcvm. Each copy asks the server for the SHA-256
        of what it wrote (``ChecksumAlgorithm``) and compares it with the chunk's name; a server
        that does not compute it is checked by the ETag (the content's MD5) against the source's."""
        if not (isinstance(src, S3ChunkStore) and self.same_endpoint(src)):
            return wanted
        from concurrent.futures import ThreadPoolExecutor

        # One listing of each side instead of a request per chunk: what is here already (those
        # are touched, for gc's grace period, as the byte copy's dedup does), and the source's
        # ETags that a copy is checked against when the server gives no SHA-256 of it.
        present = set(self.iter_digests()) if len(wanted) > 64 else None
        tags = src.etags() if len(wanted) > 64 else None

        def adopt(item: tuple[str, int]) -> tuple[str, int] | None:
            digest, length = item
            if (present is None or digest in present) and self.touch(digest, length):
                return None
            known = None if tags is None else tags.get(digest)
            return None if self._copy_from(src, digest, length, known) else item

        with ThreadPoolExecutor(max_workers=self.parallelism, thread_name_prefix="s3-copy") as pool:
            left = list(pool.map(adopt, wanted))
        return [item for item in left if item is not None]

    def _copy_from(self, src: S3ChunkStore, digest: str, length: int, known: tuple[str, int] | None = None) -> bool:
        """CopyObject of one chunk, checked; ``known``: the source object's (ETag, size) from a listing."""
        key, source = self._chunk_key(digest), {"Bucket": src.bucket, "Key": src.chunk_key(digest)}
        resp = self._call("CopyObject", key, self._s3.copy_object, CopySource=source, ChecksumAlgorithm="SHA256")
        if resp is None:
            return False  # gone in the source meanwhile: the byte path reports it
        result = resp.get("CopyObjectResult", {})
        checksum = result.get("ChecksumSHA256")
        if checksum:
            ok = base64.b64decode(checksum).hex() == digest
        else:
            if known is None:
                head = src.head(digest)
                known = None if head is None else (head.get("ETag"), head.get("ContentLength"))
            etag = lambda v: str(v or "").strip('"')  # noqa: E731 - servers differ in quoting it
            ok = known is not None and etag(known[0]) == etag(result.get("ETag")) != "" and known[1] == length
        if not ok:
            self._call("DeleteObject", key, self._s3.delete_object)
            raise ChunkCorrupt(digest, "the server-side copy does not match the chunk's hash")
        return True

    def chunk_key(self, digest: str) -> str:
        """The object key of a chunk."""
        return self._chunk_key(digest)

    def head(self, digest: str) -> dict | None:
        """The chunk object's metadata (HeadObject), None when absent."""
        return self._call("HeadObject", self._chunk_key(digest), self._s3.head_object)

    def delete(self, digest: str, *, older_than: float | None = None) -> int:
        key = self._chunk_key(digest)
        head = self._call("HeadObject", key, self._s3.head_object)
        if head is None:
            return 0
        if older_than is not None and head["LastModified"].timestamp() >= older_than:
            return 0
        self._call("DeleteObject", key, self._s3.delete_object)
        return int(head.get("ContentLength", 0))

    def _list(self, prefix: str) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self._s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                yield from page.get("Contents", [])
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("ListObjectsV2", prefix, exc) from exc

    def etags(self) -> dict[str, tuple[str, int]]:
        """Every chunk's (ETag, size), from one listing."""
        prefix = self._key("chunks") + "/"
        return {obj["Key"][len(prefix):]: (obj.get("ETag", ""), int(obj["Size"]))
                for obj in self._list(prefix) if is_digest(obj["Key"][len(prefix):])}

    def iter_chunks(self) -> Iterator[ChunkInfo]:
        prefix = self._key("chunks") + "/"
        for obj in self._list(prefix):
            name = obj["Key"][len(prefix) :]
            if is_digest(name):
                yield ChunkInfo(name, int(obj["Size"]), obj["LastModified"].timestamp())

    def close(self) -> None:
        try:
            self._s3.close()
        except Exception:
            pass

"""The object store ExportImages writes to (COS is S3-compatible).

``local``: a bucket is a directory ``<data-dir>/cos/<bucket>`` (created on
first use); ``s3``: a bucket of the configured S3-compatible server, which
must exist.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..config import Settings


class ObjectStore:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._s3 = None

    @property
    def is_s3(self) -> bool:
        return self.settings.cos_backend == "s3"

    def _client(self):
        if self._s3 is None:
            import boto3
            from botocore.config import Config

            s = self.settings
            self._s3 = boto3.client(
                "s3", endpoint_url=s.s3_endpoint or None, aws_access_key_id=s.s3_access_key or None,
                aws_secret_access_key=s.s3_secret_key or None, region_name=s.s3_region,
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5}),
            )
        return self._s3

    def bucket_dir(self, bucket: str) -> Path:
        return Path(self.settings.data_dir) / "cos" / bucket

    def bucket_writable(self, bucket: str) -> bool:
        if self.is_s3:
            try:
                self._client().head_bucket(Bucket=bucket)
                return True
            except Exception:
                return False
        path = self.bucket_dir(bucket)
        path.mkdir(parents=True, exist_ok=True)
        return os.access(path, os.W_OK)

    def put_file(self, bucket: str, key: str, path: Path) -> None:
        """Publish ``path`` as ``key``; readers never see a partial object."""
        if self.is_s3:
            self._client().upload_file(str(path), bucket, key)
            return
        dest = self.bucket_dir(bucket) / key
        tmp = dest.with_name("." + dest.name + ".part")
        shutil.copyfile(path, tmp) if path.stat().st_dev != tmp.parent.stat().st_dev else os.replace(path, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)

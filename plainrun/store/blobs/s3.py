"""File contents in an S3-compatible object store (a setting: ``PLAINRUN_FILE_STORAGE=s3``).

Each file is one object, ``<prefix><file id>``. Uploads stream: a file larger than one part is sent
as a multipart upload, ``PART_BYTES`` at a time (aborted, leaving nothing, when it fails or passes its
bound); downloads stream the object's body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from plainrun.errors import InvalidInput, NotFound, StoreUnavailable, TooLarge
from plainrun.store.blobs.base import Kind, S3Place
from plainrun.store.blobs.database import rechunk

#: S3's smallest part but the last is 5 MiB.
PART_BYTES = 8 * 1024 * 1024


class S3BlobStorage:
    kind: Kind = "s3"

    def __init__(self, place: S3Place):
        self.place = place
        try:
            self._client: Any = self._connect(place)
        except BotoCoreError as exc:
            raise InvalidInput(f"The S3 file storage settings are not usable: {exc}") from exc

    @staticmethod
    def _connect(place: S3Place) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=place.endpoint_url,
            region_name=place.region or "us-east-1",
            aws_access_key_id=place.access_key_id,
            aws_secret_access_key=place.secret_access_key,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60
            ),
        )

    def _key(self, file_id: str) -> str:
        return f"{self.place.prefix}{file_id}"

    def put(self, file_id: str, chunks: Iterator[bytes], *, max_bytes: int) -> tuple[int, str]:
        digest = hashlib.sha256()
        parts = rechunk(chunks, PART_BYTES)
        first = next(parts)
        second = next(parts, None)
        try:
            if second is None:  # one part: one PUT
                if len(first) > max_bytes:
                    raise TooLarge(f"The file is larger than {max_bytes} bytes.")
                digest.update(first)
                self._client.put_object(Bucket=self.place.bucket, Key=self._key(file_id), Body=first)
                return len(first), digest.hexdigest()
            return self._multipart(file_id, [first, second], parts, max_bytes)
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable("The file storage is unavailable right now.") from exc

    def _multipart(
        self, file_id: str, head: list[bytes], rest: Iterator[bytes], max_bytes: int
    ) -> tuple[int, str]:
        digest, size = hashlib.sha256(), 0
        key = self._key(file_id)
        upload = self._client.create_multipart_upload(Bucket=self.place.bucket, Key=key)["UploadId"]
        done = []
        try:
            for number, part in enumerate([*head, *rest], start=1):
                size += len(part)
                if size > max_bytes:
                    raise TooLarge(f"The file is larger than {max_bytes} bytes.")
                digest.update(part)
                sent = self._client.upload_part(
                    Bucket=self.place.bucket, Key=key, UploadId=upload, PartNumber=number, Body=part
                )
                done.append({"PartNumber": number, "ETag": sent["ETag"]})
            self._client.complete_multipart_upload(
                Bucket=self.place.bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done}
            )
        except BaseException:
            self._client.abort_multipart_upload(Bucket=self.place.bucket, Key=key, UploadId=upload)
            raise
        return size, digest.hexdigest()

    def open(self, file_id: str) -> BinaryIO:
        try:
            found = self._client.get_object(Bucket=self.place.bucket, Key=self._key(file_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFound("The file's content was not found.") from exc
            raise StoreUnavailable("The file storage is unavailable right now.") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable("The file storage is unavailable right now.") from exc
        body: BinaryIO = found["Body"]
        return body

    def check(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.place.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"The bucket {self.place.bucket} cannot be reached.") from exc

    def delete(self, file_id: str) -> None:
        try:
            self._client.delete_object(Bucket=self.place.bucket, Key=self._key(file_id))
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable("The file storage is unavailable right now.") from exc

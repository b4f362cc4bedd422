"""The S3 storage backend's options (django-storages + boto3), imported only when S3_BUCKET is set."""
import os

from botocore.config import Config

S3_RETRIES = 2  # attempts per call: one retry of a blip, then the caller sees the outage


def storage_config(*, bucket: str, endpoint_url: str = "", region: str = "", acl: str = "private",
                   presign_seconds: int = 300, timeout: int = 10) -> dict:
    """STORAGES["default"] for a private S3-compatible bucket: signed URLs only, nothing public-read."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,
            "region_name": region or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID") or None,  # else boto3's own chain (roles, profiles)
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
            "default_acl": acl or None,
            "querystring_auth": True,  # every URL is signed and expires
            "querystring_expire": presign_seconds,
            "file_overwrite": False,  # a name in use gets a suffix: never one file over another
            "client_config": Config(
                signature_version="s3v4", connect_timeout=timeout, read_timeout=timeout,
                retries={"max_attempts": S3_RETRIES, "mode": "standard"},
                # MinIO, Ceph RGW and friends rarely have per-bucket DNS names
                s3={"addressing_style": "path" if endpoint_url else "auto"}),
        },
    }

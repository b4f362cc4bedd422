"""A real S3 API server on 127.0.0.1 (moto in server mode, a subprocess) and a bucket in it, for tests."""
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.server import free_port

ACCESS_KEY, SECRET_KEY, REGION = "test-access-key", "test-secret-key", "us-east-1"


class MotoServer:
    """`python -m moto.server` on a free port; `client()` is a boto3 client for it."""

    def __init__(self, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_path)
        self.process = None

    def start(self, timeout: float = 30):
        self.log = open(self.log_path, "ab")
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"moto exited: {self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                requests.get(self.url + "/moto-api/", timeout=2)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError("moto did not answer")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.log.close()

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY)

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> set[str]:
        """Every object name in the bucket."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def env(self, bucket: str, **extra) -> dict:
        """The environment a web or worker process needs for this bucket."""
        return {"S3_BUCKET": bucket, "S3_ENDPOINT_URL": self.url, "S3_REGION": REGION, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY, **extra}


def moto_with_bucket(folder: Path, bucket: str):
    """A started MotoServer holding an empty `bucket`, stopped when the generator is closed (a fixture body)."""
    server = MotoServer(folder / "moto.log").start()
    server.create_bucket(bucket)
    yield server
    server.stop()


def use_bucket(settings, endpoint_url: str, bucket: str, **options):
    """Point this test process's default storage at a bucket (as S3_BUCKET would at start-up)."""
    from avatarsite.s3 import storage_config

    settings.S3_BUCKET, settings.S3_ENDPOINT_URL, settings.S3_REGION = bucket, endpoint_url, REGION
    config = storage_config(bucket=bucket, endpoint_url=endpoint_url, region=REGION, **options)
    config["OPTIONS"].update(access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    settings.STORAGES = {**settings.STORAGES, "default": config}

"""Stored files no row references are removed (disk and bucket), and the sweep says which."""
import io
import os
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from generation.worker import recovery
from generation.models import GenerationRequest, Video
from generation.worker.sweep import sweep_orphans
from tests.s3 import moto_with_bucket, use_bucket

pytestmark = pytest.mark.django_db

BUCKET = "orphan-sweep"
HOURS_AGO = time.time() - 3 * 3600


@pytest.fixture
def moto(tmp_path):
    yield from moto_with_bucket(tmp_path, BUCKET)


def put(media_root, name: str, old: bool = True):
    path = media_root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 1000)
    if old:
        os.utime(path, (HOURS_AGO, HOURS_AGO))
    return name


def files(media_root) -> set[str]:
    return {p.relative_to(media_root).as_posix() for p in media_root.rglob("*") if p.is_file()}


@pytest.fixture
def finished_video(user, avatar, media_root):
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="Kept.", language="en", status="done")
    Video.objects.create(request=request, file=put(media_root, "videos/2026/12/gen-1-kept.mp4"),
                         poster=put(media_root, "videos/2026/12/gen-1-kept.mp4.jpg"), duration=1, fps=25, width=2,
                         height=2, size=1000)
    return request


def test_only_old_unreferenced_files_go(avatar, finished_video, media_root):
    orphans = {put(media_root, "avatars/prepared/39-clip.frames"), put(media_root, "avatars/prepared/39-clip.npz"),
               put(media_root, "videos/2026/12/gen-7-dead.mp4"), put(media_root, "uploads/audio/2026/12/lost.wav")}
    young = put(media_root, "videos/2026/12/gen-8-in-flight.mp4", old=False)
    unrelated = put(media_root, "notes/readme.txt")
    before = files(media_root)
    for f in (avatar.source, avatar.preview):  # the demo avatar's files are old too, and referenced
        os.utime(media_root / f.name, (HOURS_AGO, HOURS_AGO))

    dry = sweep_orphans(dry_run=True)
    assert set(dry.removed) == orphans and files(media_root) == before
    report = sweep_orphans()
    assert set(report.removed) == orphans and report.bytes == 4000 and report.kept_young == 1
    assert files(media_root) == before - orphans
    assert {young, unrelated, avatar.source.name, avatar.preview.name, finished_video.video.file.name,
            finished_video.video.poster.name} <= files(media_root)
    assert sweep_orphans().removed == []


def test_the_command_lists_what_it_removes(avatar, media_root):
    orphan = put(media_root, "avatars/prepared/5-preview.png", old=False)
    out = io.StringIO()
    call_command("sweep_orphans", "--dry-run", stdout=out)
    assert "would remove" not in out.getvalue() and "1 younger than the grace period kept" in out.getvalue()
    call_command("sweep_orphans", "--grace-minutes", "0", stdout=out)
    assert f"removed {orphan}" in out.getvalue() and orphan not in files(media_root)
    assert avatar.source.name in files(media_root)


def test_the_workers_sweep_every_hour(avatar, media_root, settings):
    orphan = put(media_root, "avatars/prepared/6-clip.frames")
    recovery.Watchdog().round(recovery.SWEEP_EVERY - 1)
    assert orphan in files(media_root)
    recovery.Watchdog().round(recovery.SWEEP_EVERY)
    assert orphan not in files(media_root)


def test_in_the_bucket(moto, settings, user, tmp_path):
    from avatars.worker.demo import create_demo_avatar

    settings.STORAGE_CACHE_DIR = tmp_path / "cache"
    use_bucket(settings, moto.url, BUCKET)
    avatar = create_demo_avatar()  # its photo and preview are in the bucket
    client = moto.client()
    for key in ("avatars/prepared/9-clip.frames", "videos/2026/12/gen-9-x.mp4", "elsewhere/keep.bin"):
        client.put_object(Bucket=BUCKET, Key=key, Body=b"y" * 10)
    later = timezone.now() + timedelta(hours=3)
    report = sweep_orphans(now=later)
    assert set(report.removed) == {"avatars/prepared/9-clip.frames", "videos/2026/12/gen-9-x.mp4"}
    assert moto.keys(BUCKET) == {avatar.source.name, avatar.preview.name, avatar.thumbnail.name, "elsewhere/keep.bin"}

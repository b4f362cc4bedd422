"""Deleting an avatar while it is prepared stops the preparation and leaves no file behind.

(It used to run on, store the frames, the .npz and the preview of an avatar that no longer existed,
and fail to record them: "Save with update_fields did not affect any rows".)
"""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from avatars.web import services
from avatars.worker import preparation
from avatars.models import Avatar
from tests import media
from tests.s3 import moto_with_bucket, use_bucket

pytestmark = pytest.mark.django_db

BUCKET = "delete-preparing"


@pytest.fixture(scope="module")
def clip():
    return media.moving_face(2.0, size=(320, 180), width=0.45, seed=2).data


@pytest.fixture
def moto(tmp_path):
    yield from moto_with_bucket(tmp_path, BUCKET)


def stored_files(media_root) -> list[str]:
    return sorted(p.relative_to(media_root).as_posix() for p in media_root.rglob("*") if p.is_file())


def upload(api, clip) -> int:
    added = api.post("/api/v1/avatars/", {"name": "Me", "file": SimpleUploadedFile("me.mp4", clip)},
                     format="multipart")
    assert added.status_code == 202, added.json()
    return added.json()["id"]


def delete_at(percent: int, monkeypatch):
    """The owner deletes the avatar (as the API does) once preparation has reported `percent`."""
    real = preparation.progress_writer

    def writer(avatar, beat=None):
        write = real(avatar, beat)

        def progress(value):
            row = Avatar.objects.filter(pk=avatar.pk).first()
            if value >= percent and row is not None:
                services.delete_avatar(row)
            write(value)

        return progress

    monkeypatch.setattr(preparation, "progress_writer", writer)


def test_deleted_midway_the_preparation_stops_and_nothing_stays(api, clip, media_root, monkeypatch):
    pk = upload(api, clip)
    delete_at(30, monkeypatch)
    assert preparation.prepare_avatar(pk) == f"avatar #{pk}: stopped"
    assert not Avatar.objects.filter(pk=pk).exists()
    assert stored_files(media_root) == []


def test_deleted_as_it_finishes_the_files_it_stored_are_removed(api, clip, media_root, monkeypatch):
    pk = upload(api, clip)
    finish = Avatar.mark_prepared

    def deleted_first(avatar):  # the owner's delete lands between storing the files and recording them
        assert {f.name.rsplit(".", 1)[-1] for f in avatar.prepared_files()} == {"png", "jpg", "npz", "frames"}
        services.delete_avatar(Avatar.objects.get(pk=avatar.pk))
        finish(avatar)

    monkeypatch.setattr(Avatar, "mark_prepared", deleted_first)
    assert preparation.prepare_avatar(pk) == f"avatar #{pk}: stopped"
    assert stored_files(media_root) == []


def test_in_the_bucket_too(api, clip, moto, settings, tmp_path, monkeypatch):
    settings.STORAGE_CACHE_DIR = tmp_path / "cache"
    use_bucket(settings, moto.url, BUCKET)
    pk = upload(api, clip)
    assert len(moto.keys(BUCKET)) == 1  # the upload
    delete_at(60, monkeypatch)
    assert preparation.prepare_avatar(pk) == f"avatar #{pk}: stopped"
    assert moto.keys(BUCKET) == set()


def test_a_replaced_source_stops_the_old_run(api, clip, media_root, monkeypatch):
    """Staff replacing the file (a restart) makes the running preparation stop, not record the old file's frames."""
    pk = upload(api, clip)
    real = preparation.progress_writer

    def writer(avatar, beat=None):
        write = real(avatar, beat)

        def progress(value):
            if value >= 30 and Avatar.objects.filter(pk=avatar.pk, claimed_at__isnull=False).exists():
                services.restart_preparation(Avatar.objects.get(pk=avatar.pk), "video")
            write(value)

        return progress

    monkeypatch.setattr(preparation, "progress_writer", writer)
    assert preparation.run_claimed(preparation.claim(pk)) == f"avatar #{pk}: stopped"
    avatar = Avatar.objects.get(pk=pk)
    assert (avatar.status, avatar.claimed_at, avatar.clip_data.name) == ("preparing", None, "")
    assert stored_files(media_root) == [avatar.source.name]
    monkeypatch.setattr(preparation, "progress_writer", real)
    assert preparation.prepare_avatar(pk) == f"avatar #{pk}: ready"  # the restart's own run

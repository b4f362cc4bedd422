"""Files in a bucket (a real S3 API server, moto, on 127.0.0.1), served by the owner-checking views.

Signed-URL redirects (default) and streaming through the web process (S3_PROXY_DOWNLOADS=1), both
with HTTP Range; a reused video is a server-side copy; a worker fetches a prepared file once.
"""
import os
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from generation.shared import storage
from generation.models import GenerationRequest, Status, Video
from tests.s3 import moto_with_bucket, use_bucket

pytestmark = pytest.mark.django_db

BUCKET = "downloads"
BYTES = bytes(range(256)) * 40  # 10 240 bytes, every offset tells where it is


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    yield from moto_with_bucket(tmp_path_factory.mktemp("moto"), BUCKET)


@pytest.fixture
def bucket(moto, settings, tmp_path):
    use_bucket(settings, moto.url, BUCKET)
    settings.STORAGE_CACHE_DIR = tmp_path / "cache"
    return moto


def done_request(user, data=BYTES) -> GenerationRequest:
    request = GenerationRequest.objects.create(owner=user, text="hi", language="en", status=Status.DONE)
    video = Video(request=request, duration=1.0, fps=25, width=4, height=4, size=len(data))
    video.file.save("clip.mp4", ContentFile(data), save=False)
    video.poster.save("clip.mp4.jpg", ContentFile(b"\xff\xd8\xff poster"), save=True)
    return request


def test_the_default_is_a_redirect_to_a_short_lived_signed_url_that_honours_range(bucket, api, other_api, user,
                                                                                   settings):
    settings.S3_PRESIGN_SECONDS = 120
    request = done_request(user)
    assert not storage.is_local() and request.video.file.name in bucket.keys(BUCKET)
    answer = api.get(f"/api/v1/generations/{request.pk}/video?download=1")
    assert answer.status_code == 302 and answer["Cache-Control"] == "private, no-store"
    query = parse_qs(urlsplit(answer["Location"]).query)
    assert query["X-Amz-Expires"] == ["120"] and query["response-content-type"] == ["video/mp4"]
    assert query["response-content-disposition"] == [f'attachment; filename="avatar-{request.pk}.mp4"']
    part = requests.get(answer["Location"], headers={"Range": "bytes=-100"}, timeout=10)
    assert part.status_code == 206 and part.content == BYTES[-100:]
    assert part.headers["Content-Range"] == f"bytes {len(BYTES) - 100}-{len(BYTES) - 1}/{len(BYTES)}"
    assert other_api.get(f"/api/v1/generations/{request.pk}/video").status_code == 404
    # the object is private: unsigned, the bucket refuses it
    assert requests.get(f"{bucket.url}/{BUCKET}/{request.video.file.name}", timeout=10).status_code == 403


def test_proxied_downloads_stream_ranges_from_the_bucket(bucket, api, client, user, settings):
    settings.S3_PROXY_DOWNLOADS = True
    request = done_request(user)
    whole = api.get(f"/api/v1/generations/{request.pk}/video")
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == BYTES
    assert whole["Content-Length"] == str(len(BYTES)) and whole["X-Content-Type-Options"] == "nosniff"
    part = api.get(f"/api/v1/generations/{request.pk}/video", HTTP_RANGE="bytes=1000-1999")
    assert part.status_code == 206 and b"".join(part.streaming_content) == BYTES[1000:2000]
    assert part["Content-Range"] == f"bytes 1000-1999/{len(BYTES)}" and part["Content-Length"] == "1000"
    assert part["Accept-Ranges"] == "bytes" and "sandbox" in part["Content-Security-Policy"]
    assert api.get(f"/api/v1/generations/{request.pk}/video", HTTP_RANGE="bytes=99999-").status_code == 416
    client.force_login(user)
    poster = client.get(f"/generations/{request.pk}/poster.jpg")
    assert poster.status_code == 200 and b"".join(poster.streaming_content).startswith(b"\xff\xd8\xff")


def test_deleting_a_request_removes_its_objects_and_a_reuse_is_a_copy_of_its_own(bucket, api, user, avatar):
    from generation.web.services import reuse_generation
    from generation.web.validation import validate_input

    source = done_request(user)
    source.avatar, source.text = avatar, "same words"
    source.save()
    copy = reuse_generation(user, validate_input(user=user, text="same words", language="en", avatar=avatar.pk),
                            source)
    assert copy is not None and copy.video.file.name != source.video.file.name
    assert copy.video.poster.name not in ("", source.video.poster.name)
    names = {source.video.file.name, source.video.poster.name, copy.video.file.name, copy.video.poster.name}
    assert names <= bucket.keys(BUCKET)
    assert api.delete(f"/api/v1/generations/{source.pk}/").status_code == 204
    left = bucket.keys(BUCKET)
    assert source.video.file.name not in left and source.video.poster.name not in left
    assert {copy.video.file.name, copy.video.poster.name} <= left  # the reuse keeps playing
    assert default_storage.open(copy.video.file.name).read() == BYTES


def test_a_worker_fetches_a_stored_file_once_into_its_cache(bucket, user, settings):
    request = done_request(user)
    first = storage.local_copy(request.video.file, "v1")
    assert first.read_bytes() == BYTES and first.is_relative_to(settings.STORAGE_CACHE_DIR)
    inode = os.stat(first).st_ino
    again = storage.local_copy(request.video.file, "v1")
    assert again == first and os.stat(again).st_ino == inode  # not downloaded again
    assert storage.local_copy(request.video.file, "v2") != first  # prepared again: another copy


def test_the_cache_drops_least_recently_used_copies_beyond_its_size(bucket, user, settings):
    settings.STORAGE_CACHE_MB = 0  # nothing but the copy just made may stay
    one, two = done_request(user), done_request(user, BYTES[::-1])
    first = storage.local_copy(one.video.file)
    second = storage.local_copy(two.video.file)
    assert second.exists() and not first.exists()


def test_the_synchronous_endpoint_gets_the_bytes_not_a_redirect(bucket, user, rf):
    from generation.webkit.files import file_response

    request = done_request(user)
    answer = file_response(rf.get("/", HTTP_RANGE="bytes=0-9"), request.video.file, content_type="video/mp4",
                           filename="a.mp4", inline=True, redirect=False)
    assert answer.status_code == 206 and b"".join(answer.streaming_content) == BYTES[:10]


def test_an_object_missing_from_the_bucket_is_404_for_the_views_and_unreadable_for_the_worker(bucket, api, user,
                                                                                              settings):
    from generation.worker import jobs
    from generation.pipeline.types import AVATAR_UNREADABLE, PipelineError

    request = done_request(user)
    default_storage.delete(request.video.file.name)
    settings.S3_PROXY_DOWNLOADS = True
    assert api.get(f"/api/v1/generations/{request.pk}/video").status_code == 404
    with pytest.raises(PipelineError) as failure:
        jobs._local(request.video.file, "")
    assert failure.value.code == AVATAR_UNREADABLE


def test_a_prepared_clip_is_read_from_the_bucket_into_local_files_once(bucket, user):
    from django.utils import timezone

    from avatars.models import Avatar, AvatarStatus, Kind
    from generation.worker import jobs

    clip = Avatar(name="clip", kind=Kind.VIDEO, owner=user, status=AvatarStatus.READY, prepared_at=timezone.now())
    clip.source.save("v.mp4", ContentFile(b"source"), save=False)
    clip.clip_data.save("1-clip.npz", ContentFile(b"arrays"), save=False)
    clip.clip_frames.save("1-clip.frames", ContentFile(BYTES), save=True)
    assert {clip.clip_data.name, clip.clip_frames.name} <= bucket.keys(BUCKET)
    data, frames = jobs.avatar_inputs(clip)["clip"]
    assert open(data, "rb").read() == b"arrays" and open(frames, "rb").read() == BYTES
    assert jobs.avatar_inputs(clip)["clip"] == (data, frames)
    clip.prepared_at = timezone.now()  # prepared again under the same names: fetched anew
    assert jobs.avatar_inputs(clip)["clip"][1] != frames

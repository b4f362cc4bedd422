"""Watching a request while it is made: the worker's HLS stream in the storage, served owner-only.

The job runs for real in a thread of this process (the pipeline, ffmpeg, espeak), while the test
reads the playlist through the API as a player would.
"""
import os
import threading
import time
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from generation import retention
from generation.web import services
from generation.worker import jobs, sweep
from generation.models import GenerationRequest, Status
from generation.pipeline import hls
from tests.probing import probe

pytestmark = pytest.mark.django_db(transaction=True)  # the worker thread and the heartbeat have connections

TEXT = ("Hello there! My name is Avatar. I can speak Russian, Kazakh and English, and my lips move in time "
        "with every word I say to you today.")
POLL_SECONDS = 0.02
JOB_TIMEOUT = 120
FRAME = 1 / 25


def start_job(user, avatar, text=TEXT):
    """A queued request and a thread running it as the worker would; (request, thread)."""
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text=text, language="en")
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("result", jobs.process_generation(request.pk)))
    thread.outcome = outcome
    thread.start()
    return request, thread


def watch(api, request, thread):
    """What the playlist said while the job ran: [(status then, playlist, Cache-Control)]."""
    seen, url = [], None
    deadline = time.monotonic() + JOB_TIMEOUT
    while thread.is_alive() and time.monotonic() < deadline:
        body = api.get(f"/api/v1/generations/{request.pk}/").json()
        url = url or body["stream"]
        if url:
            answer = api.get(url)
            assert answer.status_code == 200 and answer["Content-Type"] == "application/vnd.apple.mpegurl"
            seen.append((body["status"], answer.content.decode(), answer["Cache-Control"]))
        time.sleep(POLL_SECONDS)
    thread.join(JOB_TIMEOUT)
    return url, seen


def test_the_playlist_grows_while_running_then_ends_and_adds_up_to_the_video(api, user, avatar, tmp_path):
    request, thread = start_job(user, avatar)
    url, seen = watch(api, request, thread)
    assert thread.outcome["result"] == f"#{request.pk} done"
    request.refresh_from_db()
    assert url.endswith(f"/api/v1/generations/{request.pk}/stream/index.m3u8")

    growing = [(hls.parse_playlist(text), cache) for status, text, cache in seen if status == "running"]
    with_segments = [listed for listed, _ in growing if listed.segments and not listed.ended]
    assert with_segments, "no segment was published while the request ran"
    assert all(cache == "no-cache" for listed, cache in growing if not listed.ended)
    names = [[name for name, _ in listed.segments] for listed, _ in growing]
    for earlier, later in zip(names, names[1:]):
        assert later[:len(earlier)] == earlier  # segments appear in order and are never rewritten

    final_answer = api.get(url)
    final = hls.parse_playlist(final_answer.content.decode())
    assert final.ended and len(final.segments) > len(with_segments[0].segments)
    assert abs(final.duration - request.video.duration) <= 2 * FRAME
    # the segments, fetched as a player does (relative to the playlist), are one H.264/AAC stream
    base = url.rsplit("/", 1)[0]
    parts = []
    for name in [hls.INIT] + [name for name, _ in final.segments]:
        answer = api.get(f"{base}/{name}")
        assert answer.status_code == 200 and answer["Content-Type"] == "video/mp4", name
        parts.append(b"".join(answer.streaming_content))
    joined = tmp_path / "joined.mp4"
    joined.write_bytes(b"".join(parts))
    info = probe(joined, count_frames=True)
    assert (info["video_codec"], info["audio_codec"]) == ("h264", "aac")
    assert info["frames"] == round(request.video.duration * 25)
    vtt = api.get(f"{base}/captions.vtt")
    assert vtt.status_code == 200 and vtt["Content-Type"].startswith("text/vtt")
    assert b"".join(vtt.streaming_content).decode() == request.video.captions_vtt


def test_a_run_that_fails_midway_ends_its_stream_and_says_why(api, user, avatar, monkeypatch):
    from generation import worker
    from generation.pipeline.types import PIPELINE_FAILED, PipelineError

    engine = worker.get_pipeline().engines["viseme"]
    real = engine.render

    def breaks_after_two_seconds(*args, **kwargs):
        for number, frame in enumerate(real(*args, **kwargs)):
            if number == 60:
                time.sleep(1.0)  # long enough for the worker to publish the first segments
                raise PipelineError("the engine broke midway", PIPELINE_FAILED)
            yield frame

    monkeypatch.setattr(engine, "render", breaks_after_two_seconds)
    request, thread = start_job(user, avatar)
    url, seen = watch(api, request, thread)
    assert thread.outcome["result"] == f"#{request.pk} failed"
    assert any(hls.parse_playlist(text).segments for status, text, _ in seen if status == "running")
    body = api.get(f"/api/v1/generations/{request.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["status"] == "failed" and body["error_code"] == PIPELINE_FAILED and body["error"]
    final = hls.parse_playlist(api.get(url).content.decode())
    assert final.ended and 1 <= len(final.segments) <= 3


def test_the_stream_is_the_owners_only(api, other_api, client, user, other_user, avatar):
    request, thread = start_job(user, avatar, text="Hello there.")
    thread.join(JOB_TIMEOUT)
    request.refresh_from_db()
    for path in ("index.m3u8", "init.mp4", "seg00000.m4s", "captions.vtt"):
        assert api.get(f"/api/v1/generations/{request.pk}/stream/{path}").status_code == 200, path
        assert other_api.get(f"/api/v1/generations/{request.pk}/stream/{path}").status_code == 404, path
        anonymous = client.get(f"/api/v1/generations/{request.pk}/stream/{path}")
        assert anonymous.status_code == 401, path
        page = client.get(f"/generations/{request.pk}/stream/{path}")
        assert page.status_code == 302 and "/login" in page["Location"], path
        client.force_login(other_user)
        assert client.get(f"/generations/{request.pk}/stream/{path}").status_code == 404, path
        client.force_login(user)
        assert client.get(f"/generations/{request.pk}/stream/{path}").status_code == 200, path
        client.logout()
    for bad in ("seg1.m4s", "..%2Findex.m3u8", "index.m3u8.jpg", "x.mp4", "seg99999.m4s"):
        assert api.get(f"/api/v1/generations/{request.pk}/stream/{bad}").status_code == 404, bad
    assert other_api.get(f"/api/v1/generations/{request.pk}/").status_code == 404


def test_a_queued_request_has_no_stream_yet(api, user, avatar):
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="Later.", language="en")
    assert api.get(f"/api/v1/generations/{request.pk}/").json()["stream"] is None
    assert api.get(f"/api/v1/generations/{request.pk}/stream/index.m3u8").status_code == 404


def test_the_stream_goes_with_the_video_on_delete_and_on_retention(api, user, avatar, settings):
    first, thread = start_job(user, avatar, text="Hello there.")
    thread.join(JOB_TIMEOUT)
    second, thread = start_job(user, avatar, text="Hello again.")
    thread.join(JOB_TIMEOUT)
    first.refresh_from_db()
    second.refresh_from_db()
    folders = [default_storage.path(r.stream_dir) for r in (first, second)]
    assert all((Path(f) / hls.PLAYLIST).exists() for f in folders)
    # a live request's stream is referenced: the orphan sweep keeps it
    report = sweep.sweep_orphans(grace_minutes=0)
    assert not any(name.startswith("streams/") for name in report.removed)

    services.delete_generation(first)
    assert not os.path.exists(folders[0])
    GenerationRequest.objects.filter(pk=second.pk).update(created_at=second.created_at.replace(year=2000))
    assert retention.purge_results(days=1) == 1
    assert not os.path.exists(folders[1])
    body = api.get(f"/api/v1/generations/{second.pk}/").json()
    assert body["expired"] and body["stream"] is None
    assert api.get(f"/api/v1/generations/{second.pk}/stream/index.m3u8").status_code == 410
    assert Status.DONE == GenerationRequest.objects.get(pk=second.pk).status


@pytest.fixture
def moto(tmp_path_factory):
    from tests.s3 import moto_with_bucket

    yield from moto_with_bucket(tmp_path_factory.mktemp("moto"), BUCKET)


BUCKET = "streams"


def test_with_a_bucket_segments_are_objects_listed_as_signed_urls(moto, settings, api, other_api, user, tmp_path):
    import requests

    from avatars.worker.demo import create_demo_avatar
    from tests.s3 import use_bucket

    use_bucket(settings, moto.url, BUCKET)
    settings.STORAGE_CACHE_DIR = tmp_path / "cache"
    settings.S3_PRESIGN_SECONDS = 90
    avatar = create_demo_avatar()
    request, thread = start_job(user, avatar)
    url, seen = watch(api, request, thread)
    assert thread.outcome["result"] == f"#{request.pk} done"
    request.refresh_from_db()
    assert any(hls.parse_playlist(text).segments for status, text, _ in seen if status == "running")

    answer = api.get(url)
    text = answer.content.decode()
    assert answer["Cache-Control"] == "no-cache"  # signed links expire: never kept
    listed = hls.parse_playlist(text)
    assert listed.ended and listed.segments
    keys = moto.keys(BUCKET)
    stored = {key.rsplit("/", 1)[1] for key in keys if key.startswith(request.stream_dir + "/")}
    assert {hls.PLAYLIST, hls.INIT, hls.CAPTIONS} | {f"seg{i:05d}.m4s" for i in range(len(listed.segments))} == stored
    init_uri = text.split('#EXT-X-MAP:URI="', 1)[1].split('"', 1)[0]
    for uri in [init_uri] + [name for name, _ in listed.segments[:2]]:
        assert uri.startswith(moto.url) and "X-Amz-Expires=90" in uri
        got = requests.get(uri, timeout=10)
        assert got.status_code == 200 and got.headers["Content-Type"] == "video/mp4" and got.content
    # unsigned, the bucket refuses them; another user gets no playlist to take them from
    assert requests.get(listed.segments[0][0].split("?")[0], timeout=10).status_code == 403
    assert other_api.get(url).status_code == 404

    settings.S3_PROXY_DOWNLOADS = True  # proxied: the playlist names our route, which streams the bytes
    proxied = hls.parse_playlist(api.get(url).content.decode())
    assert proxied.segments[0][0] == "seg00000.m4s"
    piece = api.get(url.rsplit("/", 1)[0] + "/seg00000.m4s")
    assert piece.status_code == 200 and piece["Content-Type"] == "video/mp4" and b"".join(piece.streaming_content)

    services.delete_generation(request)
    assert not any(key.startswith(request.stream_dir) for key in moto.keys(BUCKET))

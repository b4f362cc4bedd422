"""Interface languages (ru default, kk, en), the poster frame and the queue position."""
import subprocess
from datetime import datetime, timezone as dt_timezone

import numpy as np
import pytest
from django.conf import settings
from PIL import Image

from generation.worker import jobs
from generation.models import GenerationRequest, Status, Video
from generation.pipeline.video import ffmpeg_exe

pytestmark = pytest.mark.django_db

TITLES = {"ru": "Говорящий Аватар", "kk": "Сөйлейтін аватар", "en": "Talking Avatar"}
BUTTONS = {"ru": "Озвучить и создать видео", "kk": "Дыбыстап, бейне жасау", "en": "Voice it and make the video"}
EMPTY_TEXT = {"ru": "Введите текст, который должен произнести аватар.", "kk": "Аватар айтатын мәтінді енгізіңіз.",
              "en": "Enter the text the avatar should say."}


@pytest.fixture(autouse=True)
def generous_throttle(monkeypatch):
    """These tests post a few times in a row; they are not about throttling (another test may have left
    DRF's class-level rates at a tiny value)."""
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"generations": "1000/min", "login": "1000/min"})


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def speak(client, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_russian_is_the_default(logged_in, avatar):
    html = logged_in.get("/").content.decode()
    assert '<html lang="ru">' in html and f"<h1>{TITLES['ru']}</h1>" in html


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_each_language_renders_the_generate_page(logged_in, avatar, language):
    html = speak(logged_in, language).get("/").content.decode()
    assert f'<html lang="{language}">' in html
    assert f"<h1>{TITLES[language]}</h1>" in html and BUTTONS[language] in html
    others = [TITLES[other] for other in TITLES if other != language]
    assert not any(f"<h1>{title}</h1>" in html for title in others)


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_form_errors_are_translated(logged_in, avatar, language):
    response = speak(logged_in, language).post("/", {"text": " ", "language": "ru"})
    assert response.status_code == 400 and EMPTY_TEXT[language] in response.content.decode()


def test_set_language_switches_and_remembers(logged_in, avatar):
    response = logged_in.post("/i18n/setlang/", {"language": "kk", "next": "/history/"})
    assert response.status_code == 302 and response["Location"] == "/history/"
    assert TITLES["kk"] in logged_in.get("/").content.decode()
    logged_in.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "<h1>History</h1>" in logged_in.get("/history/").content.decode()


def test_dates_and_numbers_follow_the_language(logged_in, user, avatar):
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="x", language="ru",
                                               status=Status.DONE)
    request.created_at = datetime(2025, 3, 4, 15, 6, tzinfo=dt_timezone.utc)
    request.save()
    Video.objects.create(request=request, file="videos/x.mp4", duration=2.5, fps=25, width=8, height=8, size=1)
    ru = speak(logged_in, "ru").get("/history/").content.decode()
    assert "04.03.2025 15:06" in ru and "2,5 с" in ru
    en = speak(logged_in, "en").get("/history/").content.decode()
    assert "03/04/2025 3:06 p.m." in en and "2.5 s" in en
    kk = speak(logged_in, "kk").get("/history/").content.decode()
    assert "04.03.2025 15:06" in kk and "2,5 с" in kk


def test_api_speaks_english_unless_asked(api, avatar):
    body = api.post("/api/v1/generations/", {"text": "", "language": "ru"}, format="json").json()
    assert body["text"] == ["Enter the text the avatar should say."]
    body = api.post("/api/v1/generations/", {"text": "", "language": "ru"}, format="json",
                    HTTP_ACCEPT_LANGUAGE="kk").json()
    assert body["text"] == [EMPTY_TEXT["kk"]]
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"  # the page's own calls carry the switch's cookie
    body = api.post("/api/v1/generations/", {"text": "", "language": "ru"}, format="json").json()
    assert body["text"] == [EMPTY_TEXT["ru"]]


def test_stage_labels_are_translated(api, user, avatar):
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="x", language="ru", stage="lipsync")
    assert api.get(f"/api/v1/generations/{request.pk}/").json()["stage_label"] == "Syncing the lips…"
    body = api.get(f"/api/v1/generations/{request.pk}/", HTTP_ACCEPT_LANGUAGE="ru").json()
    assert body["stage_label"] == "Синхронизация губ…"


def test_queue_position_counts_earlier_unfinished_requests_of_everyone(api, user, other_user, avatar):
    def make(owner, status):
        return GenerationRequest.objects.create(owner=owner, avatar=avatar, text="x", language="ru", status=status)

    make(user, Status.DONE)
    make(other_user, Status.RUNNING)
    make(other_user, Status.FAILED)
    first = make(other_user, Status.QUEUED)
    mine = make(user, Status.QUEUED)
    running = make(user, Status.RUNNING)
    later = make(other_user, Status.QUEUED)  # created after mine: not ahead of it
    assert api.get(f"/api/v1/generations/{mine.pk}/").json()["queue_position"] == 2
    assert api.get(f"/api/v1/generations/{running.pk}/").json()["queue_position"] is None
    first.status = Status.CANCELLED
    first.save()
    assert api.get(f"/api/v1/generations/{mine.pk}/").json()["queue_position"] == 1
    assert later.pk > mine.pk
    listed = {g["id"]: g["queue_position"] for g in api.get("/api/v1/generations/").json()["results"]}
    assert listed[mine.pk] == 1 and listed[running.pk] is None


@pytest.fixture
def finished(user, avatar, media_root):
    """A done request whose video is a real 1 s MP4 (red frames) under MEDIA_ROOT."""
    relative = "videos/2025/01/red.mp4"
    path = media_root / relative
    path.parent.mkdir(parents=True)
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "color=c=red:s=64x48:r=25:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="poster", language="en",
                                               status=Status.DONE)
    poster = jobs.make_poster(path)  # as the worker does when it finishes a video
    Video.objects.create(request=request, file=relative, poster=str(poster.relative_to(media_root)), duration=1.0,
                         fps=25, width=64, height=48, size=path.stat().st_size)
    return request


def test_poster_is_the_workers_jpeg_frame_for_the_owner_only(client, logged_in, other_user, finished, media_root):
    url = f"/generations/{finished.pk}/poster.jpg"
    cached = media_root / f"{finished.video.file.name}.jpg"
    before = cached.stat().st_mtime_ns
    response = logged_in.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == cached.read_bytes()
    assert cached.stat().st_mtime_ns == before  # a GET reads, it never writes
    with Image.open(cached) as image:
        assert image.size == (64, 48)
        r, g, b = np.asarray(image.convert("RGB"), dtype=float).mean(axis=(0, 1))
    assert r > 200 and g < 60 and b < 60  # the video's red frame, not a placeholder
    html = logged_in.get("/history/").content.decode()
    assert f'poster="{url}"' in html

    client.force_login(other_user)
    assert client.get(url).status_code == 404


def test_poster_is_404_until_the_video_exists(logged_in, user, avatar):
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="x", language="ru")
    assert logged_in.get(f"/generations/{request.pk}/poster.jpg").status_code == 404


def test_deleting_removes_the_poster_too(logged_in, finished, media_root):
    assert logged_in.get(f"/generations/{finished.pk}/poster.jpg").status_code == 200
    video = media_root / finished.video.file.name
    poster = media_root / f"{finished.video.file.name}.jpg"
    assert video.exists() and poster.exists()
    assert logged_in.post(f"/generations/{finished.pk}/delete/").status_code == 302
    assert not video.exists() and not poster.exists()


def test_pages_load_nothing_from_other_hosts(logged_in, finished):
    for url in ["/", "/history/", f"/generations/{finished.pk}/", "/accounts/login/"]:
        html = logged_in.get(url).content.decode()
        assert "http://" not in html and "https://" not in html and 'src="//' not in html, url

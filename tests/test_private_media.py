"""Private stays private: no generic file serving of MEDIA_ROOT, stored files only through views that check.

Raw HTTP against the site run as in production (gunicorn, DEBUG off, whitenoise), as an outsider would
send it: every traversal form of a real stored file's name answers 404, anonymous or logged in as
somebody else.
"""
import http.client
import os
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.urls import get_resolver

from generation.models import GenerationRequest, Status, Video
from tests.server import Gunicorn

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = b"RIFF-alice-private-recording-bytes"


@pytest.fixture
def alices_files(user, avatar, media_root):
    """A request of alice's with an uploaded recording and a finished video, stored as uploads are."""
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="alice's words", language="en",
                                               status=Status.DONE, audio_format="wav", audio_sha256="0" * 64)
    request.audio.save("x.html", ContentFile(SECRET), save=True)
    video = Video(request=request, duration=1.0, fps=25, width=4, height=4, size=len(SECRET))
    video.file.save("clip.mp4", ContentFile(SECRET), save=True)
    return request


@pytest.fixture
def site(media_root, collected_static, tmp_path):
    server = Gunicorn(media_root, collected_static, tmp_path / "gunicorn.log").start()
    yield server
    server.stop()


def raw_get(site, path: str, cookie: str = "") -> tuple[int, bytes]:
    """GET `path` exactly as written (no client-side normalisation of dots, slashes or escapes)."""
    url = urlsplit(site.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.putrequest("GET", path, skip_accept_encoding=True)
    connection.putheader("X-Forwarded-Proto", "https")
    if cookie:
        connection.putheader("Cookie", cookie)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def traversal_paths(stored: str, absolute: str, avatar_pk: int) -> list[str]:
    """Ways an attacker may spell a path to a stored file through any route that might serve files."""
    escaped = stored.replace("/", "%2f")
    return [
        f"/media/{stored}",
        f"/media/avatars/..%2f{escaped}",
        f"/media/avatars/%2e%2e/{stored}",
        f"/media/avatars/%252e%252e%252f{escaped}",
        "/media/avatars/..\\" + stored.replace("/", "\\"),
        f"/media/avatars/..%5c{stored.replace('/', '%5c')}",
        f"/media/{absolute}",
        f"/media//{absolute.lstrip('/')}",
        f"/media/avatars/link-to-recording.png",
        f"/media/avatars/x%00/../../{stored}",
        f"/static/..%2f..%2fmedia%2f{escaped}",
        f"/static/%2e%2e/%2e%2e/media/{stored}",
        f"/static/../media/{stored}",
        f"/avatars/{avatar_pk}/source/..%2f..%2f{escaped}",
        f"/avatars/{avatar_pk}%00/source",
        f"/avatars/..%2f{escaped}",
        f"/generations/1/../../media/{stored}",
    ]


def test_no_url_pattern_serves_media_root():
    patterns = [str(p.pattern) for p in get_resolver().url_patterns]
    assert not any("media" in p for p in patterns), patterns


def test_every_traversal_form_is_404_anonymous_and_for_another_user(site, client, other_user, alices_files,
                                                                      avatar, media_root):
    stored = alices_files.audio.name
    assert "x" not in os.path.basename(stored).split(".")[0] or len(stored) > 40  # a uuid...
    assert not stored.endswith(".html")  # ...and no extension the client chose
    os.symlink(media_root / stored, media_root / "avatars" / "link-to-recording.png")
    client.force_login(other_user)
    bob = f"sessionid={client.cookies['sessionid'].value}"
    for cookie in ("", bob):
        for path in traversal_paths(stored, str(media_root / stored), avatar.pk):
            status, body = raw_get(site, path, cookie)
            assert status == 404, (path, cookie, status)  # as the issue asks: not even a 400 that tells them apart
            assert SECRET not in body, path
        # The owner-checking views themselves: 404 for bob, a login redirect for nobody.
        for path in (f"/generations/{alices_files.pk}/recording", f"/generations/{alices_files.pk}/video",
                     f"/api/v1/generations/{alices_files.pk}/recording", f"/api/v1/generations/{alices_files.pk}/video"):
            status, body = raw_get(site, path, cookie)
            assert status in ((404,) if cookie else (302, 401, 403)), (path, cookie, status)
            assert SECRET not in body


def test_recording_named_html_is_served_as_audio_attachment_only(api, user, alices_files):
    response = api.get(f"/api/v1/generations/{alices_files.pk}/recording")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"].startswith("attachment;") and ".html" not in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == SECRET


def test_video_is_inline_for_the_player_and_attachment_on_download(api, alices_files):
    url = f"/api/v1/generations/{alices_files.pk}/video"
    inline = api.get(url)
    assert inline["Content-Disposition"].startswith("inline;") and inline["X-Content-Type-Options"] == "nosniff"
    assert api.get(url + "?download=1")["Content-Disposition"].startswith("attachment;")


def test_avatar_pictures_only_through_the_checking_view(client, user, other_user, avatar, demo_png):
    from avatars.models import Avatar

    assert client.get(f"/avatars/{avatar.pk}/source").status_code == 302  # nobody logged in: to the login page
    client.force_login(user)
    response = client.get(f"/avatars/{avatar.pk}/source")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == avatar.source.read()
    assert client.get(f"/avatars/{avatar.pk}/preview")["Content-Type"] == "image/png"
    hidden = Avatar.objects.create(name="Hidden", source=avatar.source.name, is_active=False)
    bobs = Avatar.objects.create(name="Bob's own", source=avatar.source.name, owner=other_user, status="ready")
    for other in (hidden, bobs):  # an inactive shared avatar, another user's own: not there for alice
        for what in ("source", "preview"):
            assert client.get(f"/avatars/{other.pk}/{what}").status_code == 404
    assert client.get("/avatars/999999/source").status_code == 404


def test_admin_pages_link_stored_files_only_through_checking_views(client, alices_files, avatar):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("root", password="root-password-1"))
    video = alices_files.video
    for url in (f"/admin/avatars/avatar/{avatar.pk}/change/", "/admin/avatars/avatar/",
                f"/admin/generation/generationrequest/{alices_files.pk}/change/",
                f"/admin/generation/video/{video.pk}/change/"):
        html = client.get(url).content.decode()
        for name in (alices_files.audio.name, video.file.name, avatar.source.name):
            assert f'href="{name}' not in html and f'href="/{name}' not in html, url
    assert f'href="/avatars/{avatar.pk}/source"' in client.get(f"/admin/avatars/avatar/{avatar.pk}/change/").content.decode()

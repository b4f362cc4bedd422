"""Share links: the owner makes one for a finished video; anybody with it watches without logging in,
sees nothing else of the owner, and gets 404 once it is revoked, expired, or the video is gone."""
import hashlib
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.test import APIClient

from generation.models import GenerationRequest, ShareLink, Status, Video

pytestmark = pytest.mark.django_db

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
VTT = "WEBVTT\n\n00:00.000 --> 00:01.000\nhello there\n"


def finished(user, avatar=None, text="hello there") -> GenerationRequest:
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text=text, language="en", status=Status.DONE)
    video = Video(request=request, duration=1.0, fps=25, width=4, height=4, size=len(VIDEO), captions_vtt=VTT,
                  captions_srt="1\n00:00:00,000 --> 00:00:01,000\nhello there\n")
    video.file.save("clip.mp4", ContentFile(VIDEO), save=True)
    return request


def share(api, request, **body):
    return api.post(f"/api/v1/generations/{request.pk}/share/", body, format="json")


def path_of(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_an_anonymous_visitor_watches_and_downloads_and_sees_nothing_of_the_owner(api, user, avatar):
    avatar.name = "Aunt Matilda"
    avatar.save()
    request = finished(user, avatar)
    finished(user, avatar, text="another private video")
    answer = share(api, request)
    assert answer.status_code == 201 and answer["Cache-Control"] == "no-store"
    body = answer.json()
    page_path = path_of(body["url"])
    token = page_path.strip("/").split("/")[1]
    assert len(token) >= 32 and not token.isdigit()
    assert ShareLink.objects.get().token_sha256 == hashlib.sha256(token.encode()).hexdigest()  # the token is not stored
    expires = timezone.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=6, hours=23) < expires - timezone.now() <= timedelta(days=7)

    visitor = APIClient()  # no login, no token
    page = visitor.get(page_path)
    html = page.content.decode()
    assert page.status_code == 200 and page["X-Robots-Tag"].startswith("noindex")
    assert f"{page_path}video" in html and f"{page_path}captions.vtt" in html
    for private in ("alice", "Aunt Matilda", "another private video", f"/generations/{request.pk}/", "Log out"):
        assert private not in html
    video = visitor.get(f"{page_path}video?download=1")
    assert video.status_code == 200 and b"".join(video.streaming_content) == VIDEO
    assert video["Content-Disposition"] == 'attachment; filename="shared-video.mp4"'
    assert video["Cache-Control"] == "private, no-cache" and "sandbox" in video["Content-Security-Policy"]
    ranged = visitor.get(f"{page_path}video", HTTP_RANGE="bytes=0-7")
    assert ranged.status_code == 206 and b"".join(ranged.streaming_content) == VIDEO[:8]
    captions = visitor.get(f"{page_path}captions.vtt")
    assert captions.status_code == 200 and captions.content.decode() == VTT
    assert visitor.get(f"{page_path}captions.srt")["Content-Disposition"].startswith('attachment; filename="shared-')
    # the owner's own routes stay closed to the visitor
    assert visitor.get(f"/generations/{request.pk}/video").status_code == 302
    assert visitor.get(f"/api/v1/generations/{request.pk}/video").status_code == 401


def test_revoked_expired_deleted_and_retired_links_answer_404(api, user):
    visitor = APIClient()
    request = finished(user)
    page = path_of(share(api, request).json()["url"])
    assert api.delete(f"/api/v1/generations/{request.pk}/share/").status_code == 204
    assert visitor.get(page).status_code == 404 and visitor.get(f"{page}video").status_code == 404

    page = path_of(share(api, request, expires_in=60).json()["url"])
    assert visitor.get(page).status_code == 200
    ShareLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert visitor.get(page).status_code == 404 and visitor.get(f"{page}captions.vtt").status_code == 404

    page = path_of(share(api, request).json()["url"])
    request.expired_at = timezone.now()  # retention removed the video
    request.save()
    assert visitor.get(page).status_code == 404
    request.expired_at = None
    request.save()
    assert visitor.get(page).status_code == 200
    assert api.delete(f"/api/v1/generations/{request.pk}/").status_code == 204
    assert visitor.get(page).status_code == 404 and not ShareLink.objects.exists()


def test_a_new_link_replaces_the_old_and_guessed_tokens_are_404(api, user):
    visitor = APIClient()
    request = finished(user)
    first = path_of(share(api, request).json()["url"])
    second = path_of(share(api, request).json()["url"])
    assert visitor.get(first).status_code == 404 and visitor.get(second).status_code == 200
    assert visitor.get("/s/" + "A" * 32 + "/").status_code == 404
    assert visitor.get("/s/short/").status_code == 404
    assert visitor.get(f"/s/{request.pk}/").status_code == 404


def test_only_the_owner_shares_and_only_a_finished_video(api, other_api, user):
    request = finished(user)
    assert share(other_api, request).status_code == 404
    assert other_api.delete(f"/api/v1/generations/{request.pk}/share/").status_code == 404
    assert APIClient().post(f"/api/v1/generations/{request.pk}/share/").status_code == 401
    queued = GenerationRequest.objects.create(owner=user, text="later", language="en")
    refused = share(api, queued)
    assert refused.status_code == 409 and "finished" in refused.json()["detail"]
    assert not ShareLink.objects.exists()


@pytest.mark.parametrize("expires_in", [0, 59, 365 * 86400 + 1, "3600", 1.5, True])
def test_expires_in_is_bounded(api, user, expires_in):
    answer = share(api, finished(user), expires_in=expires_in)
    assert answer.status_code == 400 and "expires_in" in answer.json()


def test_the_detail_page_makes_copies_and_revokes(client, user):
    request = finished(user)
    client.force_login(user)
    page = client.get(f"/generations/{request.pk}/").content.decode()
    assert 'id="share-make"' in page and 'id="share-revoke"' not in page
    made = client.post(f"/generations/{request.pk}/share/", {"action": "create", "days": "1"})
    html = made.content.decode()
    assert made.status_code == 200 and made["Cache-Control"] == "no-store"
    assert 'id="share-url"' in html and 'id="share-copy"' in html and 'id="share-revoke"' in html
    link = ShareLink.objects.get()
    assert timedelta(hours=23) < link.expires_at - timezone.now() <= timedelta(days=1)
    url = html.split('id="share-url" readonly value="', 1)[1].split('"', 1)[0]
    assert APIClient().get(path_of(url)).status_code == 200
    assert client.get(f"/generations/{request.pk}/").content.decode().count('id="share-url"') == 0  # shown once
    revoked = client.post(f"/generations/{request.pk}/share/", {"action": "revoke"})
    assert revoked.status_code == 302 and APIClient().get(path_of(url)).status_code == 404


def test_the_schema_documents_sharing(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    operations = schema["paths"]["/api/v1/generations/{id}/share/"]
    assert operations["post"]["summary"] == "Make a share link" and "201" in operations["post"]["responses"]
    assert operations["delete"]["summary"] == "Revoke the share link" and "204" in operations["delete"]["responses"]
    assert schema["components"]["schemas"]["ShareRequest"]["properties"]["expires_in"]["maximum"] == 365 * 86400


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    from tests.s3 import moto_with_bucket

    yield from moto_with_bucket(tmp_path_factory.mktemp("moto"), "shared")


def test_from_a_bucket_the_link_redirects_to_a_signed_url_or_streams(moto, api, user, settings, tmp_path):
    import requests

    from tests.s3 import use_bucket

    use_bucket(settings, moto.url, "shared")
    settings.STORAGE_CACHE_DIR = tmp_path / "cache"
    request = finished(user)
    page = path_of(share(api, request).json()["url"])
    visitor = APIClient()
    signed = visitor.get(f"{page}video?download=1")
    assert signed.status_code == 302 and "X-Amz-Signature" in signed["Location"]
    assert signed["Cache-Control"] == "private, no-store" and signed["Referrer-Policy"] == "no-referrer"
    assert "shared-video.mp4" in requests.utils.unquote(signed["Location"])
    assert requests.get(signed["Location"], timeout=10).content == VIDEO
    settings.S3_PROXY_DOWNLOADS = True
    streamed = visitor.get(f"{page}video", HTTP_RANGE="bytes=2-5")
    assert streamed.status_code == 206 and b"".join(streamed.streaming_content) == VIDEO[2:6]
    api.delete(f"/api/v1/generations/{request.pk}/share/")
    assert visitor.get(f"{page}video").status_code == 404

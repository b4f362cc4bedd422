"""Users add their own avatars (page and API): private to them, prepared by the worker, deletable."""
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from avatars.models import Avatar
from avatars.worker.preparation import prepare_avatar
from generation.models import GenerationRequest

pytestmark = pytest.mark.django_db


def add(api, data, name="Me"):
    return api.post("/api/v1/avatars/", {"name": name, "file": SimpleUploadedFile("anything.bin", data)},
                    format="multipart")


def test_api_adds_a_private_photo_avatar_that_the_worker_prepares(api, other_api, user, avatar, demo_png):
    response = add(api, demo_png)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"].endswith(f"/api/v1/avatars/{body['id']}/")
    assert (body["kind"], body["status"], body["shared"], body["preview"]) == ("photo", "preparing", False, None)
    mine = Avatar.objects.get(pk=body["id"])
    assert mine.owner == user and mine.source.name.endswith(".png") and "anything" not in mine.source.name

    assert api.post("/api/v1/generations/", {"text": "Привет", "language": "ru", "avatar": mine.pk},
                    format="json").json()["avatar"][0].startswith("Avatar «Me» is still being prepared")

    prepare_avatar(mine.pk)  # what the worker's task runs
    ready = api.get(f"/api/v1/avatars/{mine.pk}/").json()
    assert ready["status"] == "ready" and ready["width"] == 352 and ready["preview"].endswith("/preview")
    # an API client fetches the preview and the upload with its token; nobody else can
    for url, kind in ((ready["preview"], "image/png"), (ready["source"], "image/png")):
        got = api.get(url)
        assert got.status_code == 200 and got["Content-Type"] == kind, url
        assert other_api.get(url).status_code == 404
        assert APIClient().get(url).status_code in (401, 403)
    listed = {a["id"]: a["shared"] for a in api.get("/api/v1/avatars/").json()}
    assert listed == {avatar.pk: True, mine.pk: False}
    made = api.post("/api/v1/generations/", {"text": "Привет", "language": "ru", "avatar": mine.pk}, format="json")
    assert made.status_code == 202 and made.json()["avatar"] == mine.pk

    # nobody else sees it, uses it or deletes it
    assert mine.pk not in {a["id"] for a in other_api.get("/api/v1/avatars/").json()}
    assert other_api.get(f"/api/v1/avatars/{mine.pk}/").status_code == 404
    assert other_api.delete(f"/api/v1/avatars/{mine.pk}/").status_code == 404
    used = other_api.post("/api/v1/generations/", {"text": "x", "language": "ru", "avatar": mine.pk}, format="json")
    assert used.status_code == 404 and "does not exist" in used.json()["avatar"][0]


def test_a_failed_avatar_says_why_and_cannot_be_used(api, avatar):
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((200, 200, 3), 90, np.uint8)).save(buffer, "PNG")
    pk = add(api, buffer.getvalue(), "Wall").json()["id"]
    prepare_avatar(pk)
    body = api.get(f"/api/v1/avatars/{pk}/").json()
    assert body["status"] == "failed" and body["error_code"] == "face_not_found" and "No face" in body["error"]
    refused = api.post("/api/v1/generations/", {"text": "x", "language": "en", "avatar": pk}, format="json")
    assert refused.status_code == 409 and "could not be prepared" in refused.json()["avatar"][0]


@pytest.mark.parametrize("data, words", [
    (b"plain text, neither a photo nor a video", "neither a photo"),
    (b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100, "not a video"),  # looks like MP4, is not one
])
def test_bad_files_are_refused_at_once(api, data, words):
    response = add(api, data)
    assert response.status_code == 400 and words in " ".join(response.json()["file"])
    assert not Avatar.objects.filter(owner__isnull=False).exists()


def test_a_photo_over_its_limit_is_refused_before_it_is_read(api, demo_png, settings):
    settings.MAX_UPLOAD_BYTES = len(demo_png) - 1
    response = add(api, demo_png)
    assert response.status_code == 400 and "the limit is" in " ".join(response.json()["file"])
    assert not Avatar.objects.filter(owner__isnull=False).exists()


def test_an_upload_that_does_not_know_its_size_is_held_to_the_limit_while_reading():
    from django.core.exceptions import ValidationError

    from generation.uploads import read_upload

    unsized = SimpleUploadedFile("a.bin", b"x" * 101)
    unsized.size = None  # as a stream without a length would be
    with pytest.raises(ValidationError):
        read_upload(unsized, 100)
    assert read_upload(SimpleUploadedFile("b.bin", b"x" * 100), 100) == b"x" * 100


def test_deleting_an_avatar_in_use_is_refused_until_its_videos_are_done(api, user, demo_png, media_root):
    pk = add(api, demo_png).json()["id"]
    prepare_avatar(pk)
    mine = Avatar.objects.get(pk=pk)
    files = [media_root / f.name for f in (mine.source, mine.preview)]
    job = api.post("/api/v1/generations/", {"text": "Hi", "language": "en", "avatar": pk}, format="json").json()
    conflict = api.delete(f"/api/v1/avatars/{pk}/")
    assert conflict.status_code == 409 and "still being made" in conflict.json()["detail"]
    api.post(f"/api/v1/generations/{job['id']}/cancel/")
    assert api.delete(f"/api/v1/avatars/{pk}/").status_code == 204
    assert not Avatar.objects.filter(pk=pk).exists() and not any(os.path.exists(f) for f in files)
    assert GenerationRequest.objects.get(pk=job["id"]).avatar is None  # the history keeps the request


def test_shared_avatars_are_not_users_to_delete(api, avatar):
    assert api.delete(f"/api/v1/avatars/{avatar.pk}/").status_code == 403
    assert Avatar.objects.filter(pk=avatar.pk).exists()


def test_own_avatars_are_limited(api, user, demo_png, settings):
    settings.MAX_OWN_AVATARS = 1
    assert add(api, demo_png).status_code == 202
    response = add(api, demo_png)
    assert response.status_code == 409 and "delete one first" in response.json()["detail"]


def test_the_page_adds_lists_and_deletes_own_avatars(client, user, other_user, demo_png):
    client.force_login(user)
    response = client.post("/avatars/", {"name": "Page avatar", "file": SimpleUploadedFile("p.png", demo_png)})
    assert response.status_code == 302
    mine = Avatar.objects.get(name="Page avatar")
    page = client.get("/avatars/").content.decode()
    assert "Page avatar" in page and 'data-status="preparing"' in page
    prepare_avatar(mine.pk)
    assert f'src="/avatars/{mine.pk}/thumbnail.jpg"' in client.get("/avatars/").content.decode()
    assert f'value="{mine.pk}"' in client.get("/").content.decode()  # offered on the generate page

    client.force_login(other_user)
    assert "Page avatar" not in client.get("/avatars/").content.decode()
    assert client.post(f"/avatars/{mine.pk}/delete/").status_code == 404
    client.force_login(user)
    assert client.post(f"/avatars/{mine.pk}/delete/").status_code == 302
    assert not Avatar.objects.filter(pk=mine.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_uploads_at_the_last_place_make_one_avatar(user, settings, monkeypatch):
    """Both uploads are checked before either counts: the count and the insert hold the user's lock
    (generation.shared.locks), so the second sees the first and is refused."""
    import threading

    from django.core.files.base import ContentFile
    from django.db import connections

    from avatars.web import services
    from avatars.models import Avatar, Kind

    settings.MAX_OWN_AVATARS = 1
    both_checked = threading.Barrier(2, timeout=20)

    def checked(uploaded):  # the interleaving that slipped past a count made before the upload's check
        both_checked.wait()
        return Kind.PHOTO

    monkeypatch.setattr(services, "check_upload", checked)
    monkeypatch.setattr(services, "queue_preparation", lambda avatar: None)
    outcomes = []

    def upload(i):
        try:
            services.add_own_avatar(user, f"me {i}", ContentFile(b"x", name="photo.png"))
            outcomes.append("made")
        except services.TooManyAvatars:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["made", "refused"]
    assert Avatar.objects.filter(owner=user).count() == 1

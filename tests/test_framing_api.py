"""Format fields on the API: validation, the avatar's defaults, private backgrounds, and the worker framing a video."""
import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generation.worker import jobs
from generation.models import Background, GenerationRequest, Status

pytestmark = pytest.mark.django_db(transaction=True)  # the worker's heartbeat thread has a connection of its own

TEXT = "Привет!"


def png(width=64, height=48, colour=(10, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def upload(api, data: bytes, name="bg.png"):
    return api.post("/api/v1/backgrounds/", {"file": SimpleUploadedFile(name, data)}, format="multipart")


def post(api, **fields):
    return api.post("/api/v1/generations/", {"text": TEXT, "language": "ru", **fields}, format="json")


def test_format_fields_are_kept_and_original_is_the_default(api, avatar):
    body = post(api).json()
    assert (body["frame"], body["resolution"], body["background"], body["background_image"]) == (
        "original", 720, "blur", None)
    framed = post(api, frame="9:16", resolution=1080, background="#A0B0C0")
    assert framed.status_code == 202, framed.json()
    body = framed.json()
    assert (body["frame"], body["resolution"], body["background"]) == ("9:16", 1080, "#a0b0c0")


@pytest.mark.parametrize("fields,field", [
    ({"frame": "4:3"}, "frame"), ({"frame": "16:9", "resolution": 900}, "resolution"),
    ({"frame": "16:9", "resolution": "1080"}, "resolution"),  # JSON wants a number
    ({"frame": "16:9", "background": "red"}, "background"), ({"frame": "16:9", "background": "#12345"}, "background"),
    ({"frame": "16:9", "background": "image"}, "background_image"),
])
def test_bad_format_fields_are_refused_by_name(api, avatar, fields, field):
    response = post(api, **fields)
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not GenerationRequest.objects.exists()


@pytest.mark.parametrize("picture", [999999, 2 ** 70, -1, 0])
def test_an_unknown_background_picture_is_404_like_an_unknown_avatar(api, avatar, picture):
    response = post(api, frame="16:9", background_image=picture)
    assert response.status_code == 404, response.json()
    assert "Unknown background" in response.json()["background_image"][0]
    assert not GenerationRequest.objects.exists()


def test_the_avatars_defaults_apply_when_a_request_does_not_choose(api, avatar):
    avatar.frame, avatar.resolution, avatar.background = "1:1", 1080, "#000000"
    avatar.save()
    body = post(api).json()
    assert (body["frame"], body["resolution"], body["background"]) == ("1:1", 1080, "#000000")
    assert post(api, frame="original").json()["frame"] == "original"


def test_backgrounds_are_checked_and_private(api, other_api, avatar):
    created = upload(api, png())
    assert created.status_code == 201, created.json()
    mine = created.json()
    assert (mine["width"], mine["height"]) == (64, 48)
    assert api.get(mine["url"]).status_code == 200
    bomb = io.BytesIO()
    Image.new("1", (8000, 6000)).save(bomb, "PNG")  # 48 megapixels in a few kilobytes: over MAX_IMAGE_PIXELS
    for hostile in (b"<html><script>alert(1)</script></html>", b"GIF89a" + b"\0" * 40, png()[:60], bomb.getvalue(),
                    b""):
        refused = upload(api, hostile, "evil.png")
        assert refused.status_code == 400 and refused.json()["file"], refused.content
    assert Background.objects.count() == 1

    # another user: not listed, not readable, not deletable, not usable
    assert other_api.get("/api/v1/backgrounds/").json() == []
    assert other_api.get(f"/api/v1/backgrounds/{mine['id']}/").status_code == 404
    assert other_api.get(f"/api/v1/backgrounds/{mine['id']}/file").status_code == 404
    assert other_api.delete(f"/api/v1/backgrounds/{mine['id']}/").status_code == 404
    theirs = post(other_api, frame="16:9", background_image=mine["id"])
    assert theirs.status_code == 404  # as if it did not exist
    assert "Unknown background" in theirs.json()["background_image"][0]
    assert not GenerationRequest.objects.exists()

    used = post(api, frame="16:9", background_image=mine["id"])
    assert used.status_code == 202, used.json()
    assert (used.json()["background"], used.json()["background_image"]) == ("image", mine["id"])
    assert [b["id"] for b in api.get("/api/v1/backgrounds/").json()] == [mine["id"]]
    assert api.delete(f"/api/v1/backgrounds/{mine['id']}/").status_code == 204
    assert not Background.objects.exists()


def test_the_worker_frames_the_video_and_notes_the_enlargement(api, avatar):
    from generation.pipeline import framing
    from generation.pipeline.faces import FaceAnalyzer
    from generation.pipeline.video import extract_frame

    picture = upload(api, png(320, 180, (30, 160, 60))).json()
    response = post(api, frame="16:9", resolution=720, background_image=picture["id"], motion="none")
    assert response.status_code == 202
    assert jobs.process_generation() == f"#{response.json()['id']} done"
    request = GenerationRequest.objects.get(pk=response.json()["id"])
    assert request.status == Status.DONE, request.error_detail
    video = request.video
    assert (video.width, video.height) == (1280, 720)
    frame = extract_frame(video.file.path, 0.0)
    Image.fromarray(frame).save(video.file.path + ".png")
    assert np.abs(frame[5:60, 5:60].reshape(-1, 3).mean(axis=0) - (30, 160, 60)).max() < 6  # the user's picture
    found = FaceAnalyzer().analyze(frame)
    left, _top, right, _bottom = found.box
    assert abs((left + right) / 2 / 1280 - 0.5) < 0.03
    assert 0.36 < framing.eye_point(found)[1] / 720 < 0.44
    body = api.get(f"/api/v1/generations/{request.pk}/").json()
    assert body["video"]["width"] == 1280 and any("416" in note for note in body["notes"]), body["notes"]

    again = post(api, frame="16:9", resolution=720, background_image=picture["id"], motion="none").json()
    assert again["reused"] and again["video"]["width"] == 1280 and again["notes"] == body["notes"]
    other = post(api, frame="16:9", resolution=720, background="#000000", motion="none").json()
    assert not other["reused"]  # another background is another video

    original = post(api, text="Пока!")  # the avatar's own size, as before framing existed
    GenerationRequest.objects.filter(pk=other["id"]).delete()
    jobs.process_generation()
    assert GenerationRequest.objects.get(pk=original.json()["id"]).video.width == 352
    assert api.get(f"/api/v1/generations/{original.json()['id']}/").json()["notes"] == []


def test_a_picture_deleted_before_the_job_gives_the_blurred_photo_and_a_note(api, user, avatar):
    picture = upload(api, png()).json()
    response = post(api, frame="1:1", background_image=picture["id"])
    assert response.status_code == 202
    api.delete(f"/api/v1/backgrounds/{picture['id']}/")
    request = GenerationRequest.objects.get(pk=response.json()["id"])
    assert request.background == "image" and request.background_image is None
    notes = []
    fmt = jobs.request_format(request, notes)
    assert (fmt.frame, fmt.background, fmt.image) == ("1:1", "blur", None)
    assert notes == [{"code": "background_gone", "params": {}}]
    request.notes = notes
    assert "deleted" in request.note_messages()[0]

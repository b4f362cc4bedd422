"""End to end with a real worker: a user's video avatar is uploaded, prepared once, and speaks; a
photo avatar's head moves as the request asks."""
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from avatars.models import Avatar, AvatarStatus
from generation.models import Status
from tests import media
from tests.probing import probe
from tests.worker import finished, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]

JOB_TIMEOUT = 240  # the first job loads the models on a 2-core CI machine


def decoded_frames(path) -> np.ndarray:
    """(n, h, w, 3) RGB frames of an MP4, through the project's own ffmpeg."""
    import subprocess

    from generation.pipeline.ffmpeg import ffmpeg_exe

    info = probe(path)
    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24",
                          "pipe:1"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, info["height"], info["width"], 3)


def test_a_video_avatar_is_prepared_by_the_worker_and_speaks(api, other_api, avatar, cluster):
    clip = media.moving_face(2.4, size=(480, 270), width=0.35, seed=4)
    added = api.post("/api/v1/avatars/", {"name": "Me on video", "file": SimpleUploadedFile("me.mov", clip.data)},
                     format="multipart")
    assert added.status_code == 202, added.json()
    pk = added.json()["id"]
    assert added.json()["kind"] == "video" and added.json()["status"] == "preparing"

    ready = wait_for(lambda: Avatar.objects.filter(pk=pk).exclude(status=AvatarStatus.PREPARING).first(),
                     JOB_TIMEOUT, message="video avatar preparation")
    assert ready.status == AvatarStatus.READY, (ready.error_code, ready.error_detail, cluster.output())
    body = api.get(f"/api/v1/avatars/{pk}/").json()
    assert (body["width"], body["height"]) == (480, 270) and 2.0 <= body["duration"] <= 2.5
    assert other_api.get(f"/api/v1/avatars/{pk}/").status_code == 404
    preview = api.get(body["preview"])
    assert preview.status_code == 200 and preview["Content-Type"] == "image/png"

    text = "Hello! This is me, speaking on video, for longer than my short clip lasts."
    made = api.post("/api/v1/generations/", {"text": text, "language": "en", "avatar": pk}, format="json")
    assert made.status_code == 202, made.json()
    request = wait_for(lambda: finished(made.json()["id"]), JOB_TIMEOUT, message="video avatar job")
    assert request.status == Status.DONE, (request.error_detail, cluster.output())
    info = probe(request.video.file.path, count_frames=True)
    assert (info["width"], info["height"], info["fps"]) == (480, 270, 25)
    assert info["audio_codec"] == "aac" and request.video.duration > body["duration"] + 1  # longer than the clip
    # ping-pong: no jump between consecutive frames larger than the clip's own motion gives
    frames = decoded_frames(request.video.file.path).astype(np.int16)
    steps = np.abs(np.diff(frames[:, ::4, ::4], axis=0)).mean(axis=(1, 2, 3))
    assert steps.max() < 4 * np.median(steps) + 2, steps.round(2)
    assert other_api.get(f"/api/v1/generations/{request.pk}/").status_code == 404

    # the mouth bank lives inside the prepared clip's arrays: private with them, deleted with the avatar
    ready.refresh_from_db()
    with ready.clip_data.open("rb") as fh, np.load(fh) as arrays:
        assert len(arrays["bank_offsets"]) - 1 == ready.frame_count and arrays["bank_jpeg"].size > 0
    assert [n["code"] for n in ready.notes if n["code"].startswith("bank_")] == ["bank_open"]  # her smile never closes
    assert "clip_data" not in body and ready.clip_data.name not in str(body)
    from avatars.web.services import delete_avatar

    names = [ready.clip_data.name, ready.clip_frames.name]
    storage = ready.clip_data.storage
    delete_avatar(ready)
    assert not any(storage.exists(name) for name in names)


def test_head_motion_follows_the_request(api, avatar, cluster):
    text = "Hello there. My head moves a little while I speak to you."
    ids = {}
    for motion in ("none", "lively"):
        made = api.post("/api/v1/generations/", {"text": text, "language": "en", "motion": motion}, format="json")
        assert made.status_code == 202 and made.json()["motion"] == motion, made.json()
        ids[motion] = made.json()["id"]
    done = {m: wait_for(lambda pk=pk: finished(pk), JOB_TIMEOUT, message=f"{m} job") for m, pk in ids.items()}
    assert all(r.status == Status.DONE for r in done.values()), cluster.output()
    still, lively = (decoded_frames(done[m].video.file.path) for m in ("none", "lively"))
    h, w = still.shape[1:3]
    top = (slice(0, h // 4), slice(w // 4, 3 * w // 4))  # hair: only head motion changes it

    def away(frames):  # the largest mean |difference| from the still video's first frame
        return np.abs(frames[:, top[0], top[1]].astype(np.int16) - still[0, top[0], top[1]]).mean(axis=(1, 2, 3)).max()

    assert away(lively) > 3 * away(still) + 1, (away(lively), away(still))  # the codec's noise alone vs a moving head

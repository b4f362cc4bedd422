"""End to end with a real django-q2 worker: every finished video has captions that parse; "burn" draws them in."""
import numpy as np
import pytest
import webvtt
from PIL import Image

from generation.models import Status
from tests.worker import finished, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]

JOB_TIMEOUT = 240  # the first job loads the models on a 2-core machine
KK = "Сәлеметсіз бе! Мен сөйлейтін аватармын."


def seconds(stamp):
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_worker_makes_captions_and_burns_them(api, avatar, cluster, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from generation.pipeline import audio as audio_stage
    from generation.pipeline.tts.espeak import EspeakBackend
    from generation.pipeline.video import extract_frame

    burn = api.post("/api/v1/generations/", {"text": KK, "language": "kk", "subtitles": "burn", "motion": "none"},
                    format="json")  # a still head: only the subtitles may change the picture's top
    assert burn.status_code == 202
    # a recording with its text: no word events, so the captions come from the recording's pauses
    speech = EspeakBackend().synthesize("Бір. Екі үш төрт бес алты.", "kk")
    wav = audio_stage.wav_bytes(audio_stage.resample(speech.samples, speech.sample_rate), 16000)
    upload = api.post("/api/v1/generations/", {"language": "kk", "text": "Бір. Екі үш төрт бес алты.",
                                               "audio": SimpleUploadedFile("me.wav", wav)}, format="multipart")
    assert upload.status_code == 202, upload.json()

    request = wait_for(lambda: finished(burn.json()["id"]), JOB_TIMEOUT, message="burn job")
    assert request.status == Status.DONE, (request.error_detail, cluster.output())
    body = api.get(f"/api/v1/generations/{request.pk}/").json()
    vtt = api.get(body["video"]["captions"]["vtt"])
    assert vtt.status_code == 200 and vtt["Content-Type"] == "text/vtt; charset=utf-8"
    cues = webvtt.from_string(vtt.content.decode())
    assert [c.text for c in cues] == ["Сәлеметсіз бе!", "Мен сөйлейтін аватармын."]
    assert seconds(cues[-1].end) <= request.video.duration + 0.05
    assert api.get(body["video"]["captions"]["srt"]).content.decode().startswith("1\n00:00:00,")

    at = (seconds(cues[1].start) + seconds(cues[1].end)) / 2
    frame = extract_frame(request.video.file.path, at).astype(int)
    before = extract_frame(request.video.file.path, 0.0).astype(int)  # frame 0: no cue on yet
    Image.fromarray(frame.astype(np.uint8)).save(tmp_path / "worker-burned.png")
    diff = np.abs(frame - before).mean(axis=2)
    height = frame.shape[0]
    assert diff[int(height * 0.8):].mean() > 15, "the subtitle band shows the text"
    assert diff[: int(height * 0.3)].mean() < 3, "the top of the picture is untouched"

    recorded = wait_for(lambda: finished(upload.json()["id"]), JOB_TIMEOUT, message="upload job")
    assert recorded.status == Status.DONE, recorded.error_detail
    cues = webvtt.from_string(api.get(f"/api/v1/generations/{recorded.pk}/captions.vtt").content.decode())
    assert [c.text for c in cues] == ["Бір.", "Екі үш төрт бес алты."]
    assert seconds(cues[1].start) > 0.3  # after "Бір." and its pause, not spread from the start

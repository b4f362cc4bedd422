"""End to end: a real django-q2 worker takes API submissions and makes real MP4s."""
import pytest

from generation.models import Status
from tests.probing import probe
from tests.worker import finished, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]

JOB_TIMEOUT = 240  # first job loads the models on a 2-core CI machine


def test_worker_makes_videos_and_keeps_its_pipeline(api, avatar, cluster):
    first = api.post("/api/v1/generations/", {"text": "Привет! Я говорящий аватар.", "language": "ru"}, format="json")
    assert first.status_code == 202
    request = wait_for(lambda: finished(first.json()["id"]), JOB_TIMEOUT, message="first job")
    assert request.status == Status.DONE, (request.error_detail, cluster.output())

    body = api.get(f"/api/v1/generations/{request.pk}/").json()
    assert body["status"] == "done" and body["progress"] == 100 and body["error"] == "" == body["error_code"]
    assert all(body["timings"][k] is not None and body["timings"][k] >= 0 for k in body["timings"]), body["timings"]
    assert body["timings"]["lipsync"] > 0 and body["timings"]["tts"] > 0
    video = request.video
    info = probe(video.file.path, count_frames=True)
    assert (info["video_codec"], info["audio_codec"], info["fps"]) == ("h264", "aac", 25)
    assert abs(info["duration"] - video.duration) < 1 / 25 + 0.03
    assert 1.0 < video.duration < 6.0 and video.size == video.file.size
    with video.poster.open("rb") as poster:  # made by the worker with the video, never by a GET
        assert video.poster.name == video.file.name + ".jpg" and poster.read(3) == b"\xff\xd8\xff"

    download = api.get(body["video"]["url"])
    assert download.status_code == 200 and download["Content-Type"] == "video/mp4"
    assert b"ftyp" in b"".join(download.streaming_content)[:64]

    second = api.post("/api/v1/generations/", {"text": "Hello! I am a talking avatar.", "language": "en"}, format="json")
    request2 = wait_for(lambda: finished(second.json()["id"]), JOB_TIMEOUT, message="second job")
    assert request2.status == Status.DONE, request2.error_detail
    # Same worker process, pipeline built once: the second job reused the loaded models.
    assert request2.worker == request.worker
    assert cluster.output().count("Loading the pipeline") == 1
    assert request2.face_seconds < 0.5


def test_uploaded_recording_is_lip_synced(api, avatar, cluster):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from generation.pipeline import audio as audio_stage
    from generation.pipeline.tts.espeak import EspeakBackend

    speech = EspeakBackend().synthesize("Сәлеметсіз бе! Мен сөйлейтін аватармын.", "kk")
    samples = audio_stage.resample(speech.samples, speech.sample_rate)
    wav = audio_stage.wav_bytes(samples, 16000)
    response = api.post("/api/v1/generations/", {"language": "kk", "audio": SimpleUploadedFile("me.wav", wav)},
                        format="multipart")
    assert response.status_code == 202, response.json()
    request = wait_for(lambda: finished(response.json()["id"]), JOB_TIMEOUT, message="upload job")
    assert request.status == Status.DONE, (request.error_detail, cluster.output())
    assert request.tts_seconds < 0.05  # no synthesis: the recording was spoken as is
    spoken = audio_stage.prepare(audio_stage.Speech(samples, 16000)).duration
    assert abs(request.video.duration - spoken) <= 1 / 25 + 0.03


def test_pipeline_failure_marks_request_failed_with_message(api, avatar, cluster, media_root):
    avatar.source.storage.delete(avatar.source.name)  # the photo vanished from disk
    response = api.post("/api/v1/generations/", {"text": "Сәлеметсіз бе!", "language": "kk"}, format="json")
    request = wait_for(lambda: finished(response.json()["id"]), JOB_TIMEOUT, message="failing job")
    assert request.status == Status.FAILED
    assert request.error_code == "avatar_unreadable", request.error_detail
    body = api.get(f"/api/v1/generations/{request.pk}/").json()
    assert body["error_code"] == "avatar_unreadable" and body["error"]
    for internal in (avatar.source.name, str(media_root), "Error", "Traceback"):  # no paths, classes or traces
        assert internal not in body["error"]

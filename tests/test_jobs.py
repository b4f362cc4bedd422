"""The worker's side of a job: heartbeat, takeover safety, and errors that carry codes, not internals."""
import time

import pytest
from django.db.models import F

from generation.worker import jobs
from generation.workerkit import Cancelled, Heartbeat
from generation.models import GenerationRequest, Status
from generation.pipeline.types import AUDIO_INVALID, FACE_NOT_FOUND, SAMPLE_RATE, PipelineError

pytestmark = pytest.mark.django_db(transaction=True)  # the heartbeat thread has a connection of its own


def queued(user, avatar, text="hi"):
    return GenerationRequest.objects.create(owner=user, avatar=avatar, text=text, language="en")


def test_heartbeat_thread_stamps_the_running_job(user, avatar):
    request = queued(user, avatar)
    claimed = jobs.claim_next()
    assert claimed.pk == request.pk and claimed.status == Status.RUNNING and claimed.attempts == 1
    first = claimed.heartbeat_at
    with Heartbeat(claimed, interval=0.05, beat=lambda: jobs.still_ours(claimed)):
        time.sleep(0.4)
    beaten = GenerationRequest.objects.get(pk=request.pk).heartbeat_at
    assert beaten > first
    time.sleep(0.2)
    assert GenerationRequest.objects.get(pk=request.pk).heartbeat_at == beaten  # stopped with the job


def test_a_run_that_was_taken_over_cannot_write_its_outcome(user, avatar):
    queued(user, avatar)
    run = jobs.claim_next()
    # recovery re-queued it and another worker claimed it again: attempts moved on
    GenerationRequest.objects.filter(pk=run.pk).update(attempts=F("attempts") + 1)
    with pytest.raises(Cancelled):
        jobs.progress_writer(run)("lipsync", 50)
    jobs.mark_failed(run, "internal", "late news from the first run")
    assert GenerationRequest.objects.get(pk=run.pk).status == Status.RUNNING


def test_failure_stores_a_code_and_shows_no_internals(api, client, user, avatar, media_root, monkeypatch):
    request = queued(user, avatar)
    secret_path = f"{media_root}/avatars/internal-name.png"

    def fail(request, out_path):
        raise PipelineError(f"dlib found nothing in {secret_path} (ValueError)", FACE_NOT_FOUND)

    monkeypatch.setattr(jobs, "render", fail)
    assert jobs.process_generation(request.pk) == f"#{request.pk} failed"
    request.refresh_from_db()
    assert (request.status, request.error_code) == (Status.FAILED, FACE_NOT_FOUND)
    assert secret_path in request.error_detail  # staff and logs keep the detail
    body = api.get(f"/api/v1/generations/{request.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["error"] == "No face was found on the avatar." and body["error_code"] == FACE_NOT_FOUND
    client.force_login(user)
    page = client.get(f"/generations/{request.pk}/").content.decode()
    assert "На аватаре не найдено лицо" in page  # the Russian UI's message for the code
    assert secret_path not in page and "ValueError" not in page and "dlib" not in page


def test_unexpected_exceptions_are_internal_errors(user, avatar, monkeypatch):
    request = queued(user, avatar)
    monkeypatch.setattr(jobs, "render", lambda request, out: {}["no such key"])
    jobs.process_generation(request.pk)
    request.refresh_from_db()
    assert request.error_code == "internal" and "KeyError" in request.error_detail


def test_the_worker_decodes_only_the_bytes_validation_accepted(api, user, avatar, media_root):
    import numpy as np
    from django.core.files.uploadedfile import SimpleUploadedFile

    from generation.pipeline.audio import wav_bytes

    tone = (0.3 * np.sin(2 * np.pi * 300 * np.arange(SAMPLE_RATE) / SAMPLE_RATE)).astype(np.float32)
    response = api.post("/api/v1/generations/", {"language": "en", "audio": SimpleUploadedFile("v.wav", wav_bytes(tone))},
                        format="multipart")
    assert response.status_code == 202, response.json()
    request = GenerationRequest.objects.get(pk=response.json()["id"])
    assert request.audio_format == "wav" and len(request.audio_sha256) == 64
    assert abs(jobs.uploaded_speech(request).samples.size - SAMPLE_RATE) < SAMPLE_RATE * 0.05
    # Someone with write access to the media folder swaps the file after validation: the worker refuses it.
    (media_root / request.audio.name).write_bytes(wav_bytes(np.concatenate([tone] * 5)))
    with pytest.raises(PipelineError) as refused:
        jobs.uploaded_speech(request)
    assert refused.value.code == AUDIO_INVALID


def rendered(engine="viseme"):
    """A fake render writing a placeholder MP4: what the pipeline reports it used is `engine`."""
    from types import SimpleNamespace

    def render(request, out_path):
        out_path.write_bytes(b"not really a video")
        return SimpleNamespace(voice="v", engine=engine, notes=[], captions=[], timings=SimpleNamespace(
            **{name: 0.1 for name in ("tts", "audio", "face", "lipsync", "encode", "total")}),
            video=SimpleNamespace(duration=1.5, fps=25, width=4, height=4, size=18))

    return render


def fake_poster(path):
    poster = path.with_name(path.name + ".jpg")
    poster.write_bytes(b"jpeg")
    return poster


def test_the_engine_recorded_is_the_one_that_rendered(user, avatar, media_root, monkeypatch):
    """The web side may think wav2lip is there (a checkpoint file); the worker's pipeline says what it used."""
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="hi", language="en", engine="")
    monkeypatch.setattr(jobs, "render", rendered("viseme"))
    monkeypatch.setattr(jobs, "make_poster", fake_poster)
    assert jobs.process_generation() == f"#{request.pk} done"
    done = GenerationRequest.objects.get(pk=request.pk)
    assert (done.status, done.engine, done.voice, done.video.duration) == (Status.DONE, "viseme", "v", 1.5)


def test_a_finish_that_cannot_be_recorded_fails_the_run_at_once(user, avatar, media_root, monkeypatch):
    """Recording done raised (a database error, a bad result): the run is failed with a code, not left running
    for the watchdog to render again, and its stored files are removed."""
    from django.db import OperationalError

    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="hi", language="en",
                                               callback_url="https://example.com/hook")
    monkeypatch.setattr(jobs, "render", rendered())
    monkeypatch.setattr(jobs, "make_poster", fake_poster)
    stored = []
    real_store = jobs.store_results
    monkeypatch.setattr(jobs, "store_results", lambda *a: stored.extend(real_store(*a)) or stored)

    def broken_finish(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(GenerationRequest.objects, "finish", broken_finish)
    assert jobs.process_generation() == f"#{request.pk} failed"
    failed = GenerationRequest.objects.get(pk=request.pk)
    assert (failed.status, failed.error_code) == (Status.FAILED, "internal")
    assert "recording the finished video failed" in failed.error_detail and "database is locked" in failed.error_detail
    assert failed.webhook_deliveries.count() == 1  # its receiver is told, as of any failure
    assert stored and not any((media_root / name).exists() for name in stored)

"""The worker's side of a job: heartbeat, takeover safety, and errors that carry codes, not internals."""
import time

import pytest
from django.db.models import F

from generation import jobs
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
    with jobs.Heartbeat(claimed, interval=0.05):
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
    with pytest.raises(jobs.Cancelled):
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

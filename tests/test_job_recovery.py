"""Jobs are never lost or stuck: dead workers' jobs are re-run once then failed; repeats are reused."""
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from generation.shared import errors
from generation.web import services
from generation.worker import recovery
from generation.models import GenerationRequest, Status, Video
from generation.web.validation import validate_input
from tests import broker

pytestmark = pytest.mark.django_db


def running(user, avatar, attempts, silent_for, started_ago=600):
    now = timezone.now()
    return GenerationRequest.objects.create(
        owner=user, avatar=avatar, text="hi", language="en", status=Status.RUNNING, attempts=attempts,
        started_at=now - timedelta(seconds=started_ago), heartbeat_at=now - timedelta(seconds=silent_for))


def create(user, text):
    return services.create_generation(user, validate_input(user=user, text=text, language="en"))


def test_dead_workers_job_is_requeued_once_then_failed(user, avatar, settings):
    settings.JOB_STALE_SECONDS = 30
    alive = running(user, avatar, attempts=1, silent_for=5)  # a long job whose worker still beats
    lost = running(user, avatar, attempts=1, silent_for=40)
    lost_twice = running(user, avatar, attempts=2, silent_for=40)
    assert recovery.recover_lost_jobs() == 2
    alive.refresh_from_db(); lost.refresh_from_db(); lost_twice.refresh_from_db()
    assert alive.status == Status.RUNNING
    assert lost.status == Status.QUEUED and broker.task_ids() == {lost.task_id}
    assert lost_twice.status == Status.FAILED and lost_twice.error_code == errors.WORKER_LOST
    assert recovery.recover_lost_jobs() == 0


def test_reading_a_lost_request_changes_nothing(api, user, avatar, settings):
    settings.JOB_STALE_SECONDS = 30
    lost = running(user, avatar, attempts=2, silent_for=600)
    body = api.get(f"/api/v1/generations/{lost.pk}/").json()
    assert body["status"] == "running"
    lost.refresh_from_db()
    assert lost.status == Status.RUNNING  # only the workers' watchdog recovers jobs


def test_identical_request_reuses_the_finished_video(api, user, avatar, media_root):
    first = create(user, "Same words")
    video = Video(request=first, duration=1.0, fps=25, width=4, height=4, size=3)
    video.file.save("videos/first.mp4", ContentFile(b"abc"), save=True)
    GenerationRequest.objects.filter(pk=first.pk).update(status=Status.DONE, voice="en-us", engine="viseme")

    response = api.post("/api/v1/generations/", {"text": "Same words", "language": "en"}, format="json")
    body = response.json()
    assert response.status_code == 202 and body["reused"] is True and body["status"] == "done"
    again = GenerationRequest.objects.get(pk=body["id"])
    assert again.reused_from_id == first.pk and again.video.file.read() == b"abc"
    # Deleting the original keeps the reused copy playable (hard link, not a shared name).
    services.delete_generation(GenerationRequest.objects.get(pk=first.pk))
    assert api.get(f"/api/v1/generations/{again.pk}/video").status_code == 200

    different = api.post("/api/v1/generations/", {"text": "Other words", "language": "en"}, format="json").json()
    assert different["reused"] is False and different["status"] == "queued"


def test_queued_request_whose_task_vanished_is_requeued(user, avatar, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        waiting = create(user, "still waiting")
        lost = create(user, "task lost")
    old = timezone.now() - timedelta(minutes=5)
    GenerationRequest.objects.filter(pk__in=[waiting.pk, lost.pk]).update(created_at=old)
    # A dead worker had taken this task out of the broker.
    lost_task = GenerationRequest.objects.get(pk=lost.pk).task_id
    broker.drop(lost_task)
    assert broker.task_ids() == {waiting.task_id}

    assert recovery.requeue_lost_tasks() == 1
    lost.refresh_from_db()
    assert lost.task_id != lost_task and lost.status == Status.QUEUED
    assert broker.task_ids() == {waiting.task_id, lost.task_id}
    assert recovery.requeue_lost_tasks() == 0  # nothing else is lost

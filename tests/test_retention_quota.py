"""Retention (RESULT_RETENTION_DAYS) on a frozen clock, and the daily seconds quota (USER_DAILY_SECONDS) at its edges."""
from datetime import datetime, timedelta, timezone
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.management import call_command

from generation import quotas, retention
from generation.worker import jobs
from generation.models import DailyUsage, GenerationRequest, Status, Video

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def finished(user, text="words", at=START) -> GenerationRequest:
    """A done request with a video and a poster on disk, made at `at`."""
    with time_machine.travel(at, tick=False):
        request = GenerationRequest.objects.create(owner=user, text=text, language="en", status=Status.DONE,
                                                   finished_at=at)
        video = Video(request=request, duration=2.0, fps=25, width=4, height=4, size=5)
        video.file.save("gen.mp4", ContentFile(b"video"), save=False)
        video.poster.save("gen.mp4.jpg", ContentFile(b"\xff\xd8\xff"), save=True)
    return request


def test_retention_removes_old_files_and_marks_their_requests_expired(settings, api, client, user, media_root):
    settings.RESULT_RETENTION_DAYS = 7
    old, young = finished(user, "old one"), finished(user, "young one", START + timedelta(days=1))
    files = [media_root / old.video.file.name, media_root / old.video.poster.name]
    assert all(f.exists() for f in files)

    with time_machine.travel(START + timedelta(days=7), tick=False):  # exactly 7 days: not yet older than that
        assert retention.purge_results() == 0
    with time_machine.travel(START + timedelta(days=7, seconds=1), tick=False):
        assert retention.purge_results() == 1
        assert retention.purge_results() == 0  # once
    assert not any(f.exists() for f in files)
    old.refresh_from_db()
    assert old.expired_at == START + timedelta(days=7, seconds=1) and old.video_or_none is None
    assert GenerationRequest.objects.get(pk=young.pk).video_or_none is not None

    body = api.get(f"/api/v1/generations/{old.pk}/").json()
    assert body["video"] is None and body["expired"] is True and body["status"] == "done"
    assert api.get(f"/api/v1/generations/{young.pk}/").json()["expired"] is False
    gone = api.get(f"/api/v1/generations/{old.pk}/video", HTTP_ACCEPT_LANGUAGE="en")
    assert gone.status_code == 410 and "retention" in gone.json()["detail"]
    client.force_login(user)
    assert api.get(f"/api/v1/generations/{old.pk}/captions.vtt").status_code == 410
    for path in (f"/generations/{old.pk}/video", f"/generations/{old.pk}/poster.jpg",
                 f"/generations/{old.pk}/captions.vtt"):
        answer = client.get(path)
        assert answer.status_code == 410 and answer.json()["expired"] is True
    assert "Истёк" in client.get("/history/").content.decode()
    assert "удалено" in client.get(f"/generations/{old.pk}/").content.decode()


def test_retention_is_off_by_default_and_runs_as_a_command_and_on_the_workers_schedule(settings, user):
    from importlib import import_module

    from django.apps import apps as django_apps
    from django.db.migrations.recorder import MigrationRecorder
    from django_q.models import Schedule

    old = finished(user)
    with time_machine.travel(START + timedelta(days=400), tick=False):
        assert settings.RESULT_RETENTION_DAYS == 0 and retention.purge_results() == 0
        out = StringIO()
        call_command("purge_results", "--days", "30", stdout=out)
    assert out.getvalue().strip() == "1 result(s) expired"
    assert GenerationRequest.objects.get(pk=old.pk).expired_at is not None
    # made by migration 0012 (run here again: a transactional test before this one flushed the tables)
    assert MigrationRecorder.Migration.objects.filter(app="generation", name="0012_retention").exists()
    import_module("generation.migrations.0012_retention").create_schedule(django_apps, None)
    import_module("generation.migrations.0012_retention").create_schedule(django_apps, None)  # once, however often
    # the task module moved to the worker's room; a later migration renames what the table says
    moved = next(Path(import_module("generation.migrations").__file__).parent.glob("*_rooms27_task_paths.py")).stem
    moved = import_module(f"generation.migrations.{moved}")
    assert Schedule.objects.get(name="purge-expired-results").func == moved.OLD + "purge_results"
    moved.forward(django_apps, None)
    schedule = Schedule.objects.get(name="purge-expired-results")
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == ("generation.worker.tasks.purge_results",
                                                                          Schedule.HOURLY, -1)
    # tasks a broker still holds under the old name find the same function
    assert import_module(moved.OLD.rstrip(".")).purge_results is import_module(moved.NEW.rstrip(".")).purge_results


def post(api):
    return api.post("/api/v1/generations/", {"text": "Hello there.", "language": "en"}, format="json",
                    HTTP_ACCEPT_LANGUAGE="en")


def test_quota_boundaries_and_the_reset_at_utc_midnight(settings, api, user, avatar):
    settings.USER_DAILY_SECONDS, settings.MAX_ACTIVE_PER_USER = 10, 100
    evening = datetime(2026, 3, 1, 23, 59, 30, tzinfo=timezone.utc)
    with time_machine.travel(evening, tick=False):
        quotas.add_seconds(user.pk, 9.0)
        assert quotas.quota_status(user) == {"used_seconds": 9.0, "limit_seconds": 10,
                                             "resets_at": datetime(2026, 3, 2, tzinfo=timezone.utc)}
        assert post(api).status_code == 202  # one second left: allowed
        quotas.add_seconds(user.pk, 1.0)  # exactly at the limit: used up
        refused = post(api)
        assert refused.status_code == 429 and refused["Retry-After"] == "30"
        assert "resets at 00:00 UTC" in refused.json()["detail"]
        quotas.add_seconds(user.pk, 1.0)  # one second over (a job that finished past it)
        assert post(api).status_code == 429
        assert api.get("/api/v1/me/").json()["quota"] == {"used_seconds": 11.0, "limit_seconds": 10,
                                                           "resets_at": "2026-03-02T00:00:00Z"}
    with time_machine.travel(datetime(2026, 3, 2, 0, 0, 0, tzinfo=timezone.utc), tick=False):
        assert quotas.quota_status(user)["used_seconds"] == 0.0
        assert post(api).status_code == 202  # a new UTC day


def test_finished_seconds_count_and_stay_counted_after_a_delete(settings, api, user, avatar):
    settings.USER_DAILY_SECONDS = 3
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="x", language="en")
    run = jobs.claim_next()
    result = SimpleNamespace(voice="", engine="viseme", timings=SimpleNamespace(
        **{name: 0.1 for name in ("tts", "audio", "face", "lipsync", "encode", "total")}),
        video=SimpleNamespace(duration=3.2, fps=25, width=4, height=4, size=5))
    assert jobs.record_done(run, result, "videos/x.mp4", "", 0.0)
    assert quotas.used_seconds(user) == pytest.approx(3.2)
    assert api.delete(f"/api/v1/generations/{request.pk}/").status_code == 204
    assert DailyUsage.objects.get(owner=user).seconds == pytest.approx(3.2)
    assert post(api).status_code == 429  # deleting a video does not give its seconds back


def test_the_page_form_says_when_the_quota_resets(settings, client, user, avatar):
    settings.USER_DAILY_SECONDS = 5
    client.force_login(user)
    with time_machine.travel(datetime(2026, 3, 1, 18, 0, tzinfo=timezone.utc), tick=False):
        quotas.add_seconds(user.pk, 5.0)
        page = client.post("/", {"text": "Привет", "language": "ru", "avatar": avatar.pk})
    assert page.status_code == 429 and page["Retry-After"] == str(6 * 3600)
    assert "00:00 UTC" in page.content.decode() and not GenerationRequest.objects.exists()

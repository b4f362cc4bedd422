"""The bucket is unreachable (its endpoint a closed port): clear answers, no 500, nothing lost, retried once back."""
import pytest
from django.core.files.base import ContentFile

from avatars.models import Avatar, AvatarStatus
from generation.shared import errors
from generation.worker import jobs, recovery
from generation.models import GenerationRequest, Status, Video
from tests.s3 import moto_with_bucket, use_bucket
from tests.server import free_port

pytestmark = pytest.mark.django_db(transaction=True)  # the job's heartbeat thread has a connection of its own

BUCKET = "outage"
LEAKS = ("127.0.0.1", "botocore", "Endpoint", "Traceback", "Errno")


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    yield from moto_with_bucket(tmp_path_factory.mktemp("moto"), BUCKET)


def bucket_down(settings):
    """The same bucket name, at an address where nothing listens."""
    use_bucket(settings, f"http://127.0.0.1:{free_port()}", BUCKET, timeout=2)


def shown(response) -> str:
    return response.content.decode()


def test_pages_and_api_answer_clearly_while_the_bucket_is_down(settings, api, client, user, demo_png, tmp_path):
    settings.STORAGE_CACHE_DIR = tmp_path / "cache"
    bucket_down(settings)
    done = GenerationRequest.objects.create(owner=user, text="kept words", language="en", status=Status.DONE)
    Video.objects.create(request=done, file="videos/2026/12/gen-1.mp4", poster="videos/2026/12/gen-1.mp4.jpg",
                         duration=1.0, fps=25, width=4, height=4, size=10)

    upload = api.post("/api/v1/avatars/", {"name": "Me", "file": ContentFile(demo_png, name="me.png")},
                      format="multipart", HTTP_ACCEPT_LANGUAGE="en")
    assert upload.status_code == 503 and upload["Retry-After"] == "30"
    assert upload.json() == {"detail": "The file storage cannot be reached right now; nothing was changed. Please "
                                       "try again in a minute.", "error_code": "storage_unavailable"}
    assert not Avatar.objects.exists()  # nothing half-made

    client.force_login(user)
    page = client.post("/avatars/", {"name": "Me", "file": ContentFile(demo_png, name="me.png")})
    assert page.status_code == 503 and "хранилищ" in shown(page)  # the Russian UI's sentence, on the form
    assert 'value="Me"' in shown(page) and not Avatar.objects.exists()
    for path in ("/", "/history/", f"/generations/{done.pk}/", "/avatars/"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert not any(leak in shown(answer) for leak in LEAKS)
    assert "kept words" in shown(client.get("/history/"))
    assert api.get("/api/v1/generations/").status_code == 200

    # a signed link needs no call to the bucket; streaming through here does, and says so
    assert api.get(f"/api/v1/generations/{done.pk}/video").status_code == 302
    settings.S3_PROXY_DOWNLOADS = True
    proxied = api.get(f"/api/v1/generations/{done.pk}/video")
    assert proxied.status_code == 503 and not any(leak in shown(proxied) for leak in LEAKS)
    # deleting cannot remove the files now: refused, and the request stays, to delete later
    assert api.delete(f"/api/v1/generations/{done.pk}/").status_code == 503
    assert GenerationRequest.objects.filter(pk=done.pk).exists()


def test_a_job_that_meets_a_dead_bucket_fails_saying_so_and_runs_again_once_it_is_back(
        moto, settings, api, user, tmp_path, django_capture_on_commit_callbacks):
    from avatars.worker.demo import create_demo_avatar
    from avatars.worker.preparation import prepare_avatar

    settings.STORAGE_CACHE_DIR = tmp_path / "cache"
    use_bucket(settings, moto.url, BUCKET)
    avatar = create_demo_avatar()  # its photo is in the bucket
    assert avatar.source.name in moto.keys(BUCKET)
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="Back again.", language="en")
    second = Avatar.objects.create(name="Later", source=ContentFile(b"not read yet", name="x.png"), owner=user)

    bucket_down(settings)
    assert jobs.process_generation(request.pk) == f"#{request.pk} failed"
    request.refresh_from_db()
    assert (request.status, request.error_code) == (Status.FAILED, errors.STORAGE_UNAVAILABLE)
    body = api.get(f"/api/v1/generations/{request.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["error"] == ("The file storage could not be reached; this is tried again automatically once it is "
                             "back.")
    assert prepare_avatar(second.pk) == f"avatar #{second.pk}: failed ({errors.STORAGE_UNAVAILABLE})"
    assert recovery.retry_storage_failures() == 0  # still down: nothing is retried into the same wall

    use_bucket(settings, moto.url, BUCKET)  # the bucket is back
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.retry_storage_failures() == 2
    request.refresh_from_db()
    assert (request.status, request.error_code, request.finished_at) == (Status.QUEUED, "", None)
    assert Avatar.objects.get(pk=second.pk).status == AvatarStatus.PREPARING
    assert jobs.process_generation(request.pk) == f"#{request.pk} done"
    request.refresh_from_db()
    assert request.status == Status.DONE and request.video.file.name in moto.keys(BUCKET)


def test_the_generate_form_keeps_its_text_when_a_recording_cannot_be_stored(settings, client, user, avatar):
    import numpy as np
    from django.core.files.uploadedfile import SimpleUploadedFile

    from generation.pipeline import audio as audio_stage

    tone = (0.3 * np.sin(np.arange(16000) * 2 * np.pi * 220 / 16000)).astype(np.float32)
    bucket_down(settings)
    client.force_login(user)
    page = client.post("/", {"text": "мои слова", "language": "ru", "avatar": avatar.pk,
                             "audio": SimpleUploadedFile("me.wav", audio_stage.wav_bytes(tone, 16000), "audio/wav")})
    assert page.status_code == 503 and page["Retry-After"] == "30"
    assert "хранилищ" in shown(page) and "мои слова" in shown(page)
    assert not any(leak in shown(page) for leak in LEAKS) and not GenerationRequest.objects.exists()

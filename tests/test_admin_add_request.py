"""A request staff add in the admin is checked and queued like a user's own (it used to sit `queued`
with no task, and the next user's task then ran it instead of theirs)."""
import pytest
from django.contrib.auth import get_user_model

from generation import queue
from generation.worker import scheduler
from generation.models import GenerationRequest, Status

pytestmark = pytest.mark.django_db

ADD = "/admin/generation/generationrequest/add/"


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", password="root-password-1"))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def form(owner, avatar, **extra):
    return {"owner": owner.pk, "avatar": avatar.pk, "text": "Added by staff.", "language": "en", "voice": "",
            "engine": "", "motion": "", "subtitles": "none", "callback_url": "", **extra}


def test_a_request_added_in_the_admin_is_queued_and_run(staff_client, user, avatar,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(ADD, form(user, avatar))
    assert response.status_code == 302, response.content.decode()[:2000]
    request = GenerationRequest.objects.get()
    assert (request.owner, request.status, request.motion) == (user, Status.QUEUED, avatar.motion)
    assert request.task_id and request.task_id in queue.waiting_task_ids()  # a task of its own in the broker
    assert scheduler.run_next() == f"#{request.pk} done"
    request.refresh_from_db()
    assert request.status == Status.DONE and request.video.size > 0


def test_the_admin_refuses_what_the_owner_could_not_ask_for(staff_client, user, other_user, avatar, settings,
                                                            django_capture_on_commit_callbacks):
    from avatars.models import Avatar

    others = Avatar.objects.create(name="Bob's", owner=other_user, source=avatar.source.name, status="ready")
    response = staff_client.post(ADD, form(user, others))
    assert response.status_code == 200 and "does not exist or is not active" in response.content.decode()
    response = staff_client.post(ADD, form(user, avatar, text=""))
    assert response.status_code == 200 and not GenerationRequest.objects.exists()
    settings.MAX_ACTIVE_PER_USER = 1
    GenerationRequest.objects.create(owner=user, avatar=avatar, text="Mine.", language="en")
    response = staff_client.post(ADD, form(user, avatar))
    assert response.status_code == 200 and "videos in progress" in response.content.decode()
    assert GenerationRequest.objects.count() == 1

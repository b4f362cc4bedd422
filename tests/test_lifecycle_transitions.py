"""Every state change of a request (generation.lifecycle.TRANSITIONS) and of an avatar's preparation
(avatars.models.PREPARATION_TRANSITIONS) applies from the states its table lists, and from every other
state it is refused (False) and changes nothing: the row, its Video, its webhook, the owner's quota."""
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.forms.models import model_to_dict
from django.utils import timezone

from avatars.models import (CLAIMED, FAILED, PREPARATION_STATES, PREPARATION_TRANSITIONS, READY, WAITING, Avatar,
                            AvatarStatus)
from generation import lifecycle
from generation.shared import errors
from generation.models import DailyUsage, GenerationRequest, Status, Video, WebhookDelivery

pytestmark = pytest.mark.django_db

VIDEO = {"file": "videos/x.mp4", "poster": "", "duration": 2.5, "fps": 25, "width": 64, "height": 64, "size": 10}


def make_request(user, status: str) -> GenerationRequest:
    """A request in `status` as the worker and recovery leave one (one attempt made, a callback to notify)."""
    now = timezone.now()
    request = GenerationRequest.objects.create(
        owner=user, text="hi", language="en", status=status, attempts=1, callback_url="https://example.com/hook",
        started_at=now if status != Status.QUEUED else None, heartbeat_at=now if status == Status.RUNNING else None,
        finished_at=now if status in lifecycle.FINISHED else None,
        error_code={Status.FAILED: errors.STORAGE_UNAVAILABLE, Status.CANCELLED: errors.CANCELLED}.get(status, ""))
    if status == Status.DONE:
        Video.objects.create(request=request, **VIDEO)
    return request


REQUEST_CALLS = {
    "claim": lambda r: GenerationRequest.objects.claim(r.pk, worker="w:1", stream_dir="streams/x"),
    "heartbeat": lambda r: GenerationRequest.objects.heartbeat(r.pk, r.attempts, stage="lipsync", progress=50),
    "requeue": lambda r: GenerationRequest.objects.requeue(r.pk, r.attempts, seen=r.status),
    "finish": lambda r: GenerationRequest.objects.finish(r.pk, r.attempts, owner_id=r.owner_id, video=dict(VIDEO),
                                                         engine="viseme", voice="v"),
    "fail": lambda r: GenerationRequest.objects.fail(r.pk, r.attempts, code=errors.INTERNAL, detail="broke"),
    "cancel": lambda r: GenerationRequest.objects.cancel(r.pk),
    "expire": lambda r: GenerationRequest.objects.expire(r.pk),
}
# each also tried as the caller might have seen the row: the requeue of a running run as if it had failed
EXTRA_REQUEST_CALLS = {
    "requeue": [lambda r: GenerationRequest.objects.requeue(r.pk, r.attempts),
                lambda r: GenerationRequest.objects.requeue(r.pk, r.attempts, seen=Status.FAILED)],
}


def snapshot_request(request) -> dict:
    return {"row": model_to_dict(GenerationRequest.objects.get(pk=request.pk)),
            "videos": list(Video.objects.filter(request_id=request.pk).values()),
            "webhooks": WebhookDelivery.objects.filter(request_id=request.pk).count(),
            "usage": list(DailyUsage.objects.filter(owner_id=request.owner_id).values("seconds"))}


def test_the_table_names_every_method_and_state():
    assert set(REQUEST_CALLS) == set(lifecycle.TRANSITIONS)
    assert {s for sources, _ in lifecycle.TRANSITIONS.values() for s in sources} <= set(Status.values)
    assert set(PREPARATION_TRANSITIONS) == set(AVATAR_CALLS)
    assert {s for sources, _ in PREPARATION_TRANSITIONS.values() for s in sources} <= set(PREPARATION_STATES)


@pytest.mark.parametrize("method", sorted(lifecycle.TRANSITIONS))
@pytest.mark.parametrize("status", Status.values)
def test_request_transition(user, method, status):
    sources, target = lifecycle.TRANSITIONS[method]
    request = make_request(user, status)
    before = snapshot_request(request)
    if status not in sources:
        for call in [REQUEST_CALLS[method], *EXTRA_REQUEST_CALLS.get(method, [])]:
            assert call(request) is False, f"{method} from {status} applied"
        assert snapshot_request(request) == before, f"{method} from {status} changed something"
        return
    assert REQUEST_CALLS[method](request) is True
    after = GenerationRequest.objects.get(pk=request.pk)
    assert after.status == target
    assert REQUEST_CALLS[method](after if method != "claim" else request) is (method == "heartbeat"), \
        f"{method} applied twice"
    finished_now = target in lifecycle.FINISHED and status not in lifecycle.FINISHED
    assert WebhookDelivery.objects.filter(request_id=request.pk).count() == (1 if finished_now else 0)
    if method == "finish":
        assert after.engine == "viseme" and after.video.duration == VIDEO["duration"]
        assert DailyUsage.objects.get(owner=user).seconds == VIDEO["duration"]
    if method == "expire":
        assert after.expired_at is not None and not Video.objects.filter(request_id=request.pk).exists()
    if method == "requeue":
        assert (after.error_code, after.error_detail, after.finished_at, after.heartbeat_at, after.progress) == \
            ("", "", None, None, 0)


@pytest.mark.parametrize("method", ["heartbeat", "requeue", "finish", "fail"])
def test_a_run_taken_over_is_refused(user, method):
    """A takeover bumps `attempts`: the old run's calls (still attempt 1) change nothing."""
    request = make_request(user, Status.RUNNING)
    GenerationRequest.objects.filter(pk=request.pk).update(attempts=2)
    before = snapshot_request(request)
    assert REQUEST_CALLS[method](request) is False
    assert snapshot_request(request) == before


def test_only_a_failure_on_the_bucket_is_requeued(user):
    request = make_request(user, Status.FAILED)
    GenerationRequest.objects.filter(pk=request.pk).update(error_code=errors.INTERNAL)
    assert GenerationRequest.objects.requeue(request.pk, 1, seen=Status.FAILED) is False
    assert GenerationRequest.objects.get(pk=request.pk).status == Status.FAILED


# avatars ------------------------------------------------------------------------------------------

def make_avatar(user, state: str) -> Avatar:
    now = timezone.now()
    fields = {
        WAITING: {"status": AvatarStatus.PREPARING},
        CLAIMED: {"status": AvatarStatus.PREPARING, "claimed_at": now - timedelta(seconds=5), "attempts": 1},
        READY: {"status": AvatarStatus.READY, "claimed_at": now - timedelta(seconds=50), "attempts": 1,
                "prepared_at": now},
        FAILED: {"status": AvatarStatus.FAILED, "claimed_at": now - timedelta(seconds=50), "attempts": 1,
                 "error_code": errors.STORAGE_UNAVAILABLE},
    }[state]
    return Avatar.objects.create(name=state, owner=user, source=ContentFile(b"x", name="x.png"), **fields)


AVATAR_CALLS = {
    "claim": [lambda a: Avatar.objects.claim(a.pk, worker="w:1")],
    "heartbeat": [lambda a: Avatar.objects.heartbeat(a.pk, a.claimed_at, progress=40)],
    # a lost run is requeued by its claim; a failure on the bucket without one
    "requeue": [lambda a: Avatar.objects.requeue(a.pk, a.claimed_at) if a.claimed_at else False,
                lambda a: Avatar.objects.requeue(a.pk)],
    "mark_ready": [lambda a: Avatar.objects.mark_ready(a.pk, a.claimed_at, face_box=[1, 2, 3, 4])],
    "fail": [lambda a: Avatar.objects.fail(a.pk, a.claimed_at, code=errors.INTERNAL, detail="broke")],
    "restart": [lambda a: Avatar.objects.restart(a.pk, kind="photo")],
}
# which call applies from which allowed state
AVATAR_CALL_FOR = {("requeue", CLAIMED): 0, ("requeue", FAILED): 1}


def state_of(avatar) -> str:
    return next(state for state, q in PREPARATION_STATES.items() if Avatar.objects.filter(q, pk=avatar.pk).exists())


@pytest.mark.parametrize("method", sorted(PREPARATION_TRANSITIONS))
@pytest.mark.parametrize("state", sorted(PREPARATION_STATES))
def test_preparation_transition(user, method, state):
    sources, target = PREPARATION_TRANSITIONS[method]
    avatar = make_avatar(user, state)
    before = model_to_dict(Avatar.objects.get(pk=avatar.pk))
    if state not in sources:
        for call in AVATAR_CALLS[method]:
            assert call(avatar) is False, f"{method} from {state} applied"
        assert model_to_dict(Avatar.objects.get(pk=avatar.pk)) == before, f"{method} from {state} changed something"
        return
    assert AVATAR_CALLS[method][AVATAR_CALL_FOR.get((method, state), 0)](avatar) is True
    assert state_of(avatar) == target
    after = Avatar.objects.get(pk=avatar.pk)
    if method == "requeue":
        assert after.attempts == (1 if state == CLAIMED else 0)  # a lost run's attempt still counts
    if method == "claim":
        assert after.attempts == 1 and Avatar.objects.claim(avatar.pk, worker="w:2") is False

"""A photo with more than one face is prepared with a note naming the face that speaks (the largest)."""
import cv2
import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.utils import translation

from avatars.models import Avatar, AvatarStatus
from avatars.worker.preparation import prepare_avatar
from tests import faces

pytestmark = pytest.mark.django_db
GAP = 40  # grey pixels between the two portraits


def two_portraits() -> bytes:
    """The astronaut on the left, Grace Hopper on the right at 0.6 scale (her face is then the larger one)."""
    left = np.ascontiguousarray(faces.base("astronaut"))
    right = cv2.resize(np.ascontiguousarray(faces.base("grace_hopper")), None, fx=0.6, fy=0.6)
    canvas = np.full((max(left.shape[0], right.shape[0]), left.shape[1] + GAP + right.shape[1], 3), 200, np.uint8)
    canvas[:left.shape[0], :left.shape[1]] = left
    canvas[:right.shape[0], left.shape[1] + GAP:] = right
    ok, png = cv2.imencode(".png", cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    return png.tobytes()


def test_two_faces_get_a_note_naming_the_speaker(user, api):
    avatar = Avatar(name="Two", owner=user)
    avatar.source.save("two.png", ContentFile(two_portraits()), save=True)
    prepare_avatar(avatar.pk)
    avatar.refresh_from_db()
    assert avatar.status == AvatarStatus.READY
    assert avatar.face_box[0] > 352 + GAP  # the box is the right-hand portrait's
    assert avatar.notes == [{"code": "photo_faces", "count": 2, "place": "right"}]
    with translation.override("en"):
        assert avatar.note_messages() == ["There are 2 faces on this photo: the largest one, on the right, speaks."]
    with translation.override("ru"):
        assert "справа" in avatar.note_messages()[0]
    notes = api.get(f"/api/v1/avatars/{avatar.pk}/", HTTP_ACCEPT_LANGUAGE="kk").json()["notes"]
    assert notes and "оң жақтағы" in notes[0]


def test_one_face_gets_no_note(user, demo_png):
    avatar = Avatar(name="One", owner=user)
    avatar.source.save("one.png", ContentFile(demo_png), save=True)
    prepare_avatar(avatar.pk)
    avatar.refresh_from_db()
    assert avatar.status == AvatarStatus.READY and avatar.notes == []

"""Staff add avatars in the admin; the file is checked on save, the face is found by the worker."""
import io

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from avatars.models import Avatar
from avatars.worker.preparation import prepare_avatar

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = get_user_model().objects.create_superuser("root", password="root-password-1")
    client.force_login(admin)
    return client


def upload(client, name, data, **extra):
    return client.post("/admin/avatars/avatar/add/", {
        "name": name, "source": SimpleUploadedFile(name + ".png", data, "image/png"), "is_active": "on", "motion": "subtle", **extra})


def prepared(name):
    """Run the preparation a worker would run for the avatar, and reload it."""
    avatar = Avatar.objects.get(name=name)
    assert avatar.status == "preparing"
    prepare_avatar(avatar.pk)
    avatar.refresh_from_db()
    return avatar


def png_bytes(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def test_upload_with_face_stores_analysis(staff_client, demo_png):
    response = upload(staff_client, "Astro", demo_png, is_default="on")
    assert response.status_code == 302, response.content.decode()[:2000]
    avatar = prepared("Astro")
    assert avatar.status == "ready" and avatar.kind == "photo" and avatar.owner is None
    face = avatar.face()
    left, top, right, bottom = face.box
    assert face.landmarks.shape == (68, 2) and avatar.is_default and avatar.prepared_at
    assert left < face.landmarks[30, 0] < right and top < face.landmarks[30, 1] < bottom
    page = staff_client.get(f"/admin/avatars/avatar/{avatar.pk}/change/").content.decode()
    assert f'src="/avatars/{avatar.pk}/preview"' in page  # the box/landmarks preview
    assert staff_client.get(f"/avatars/{avatar.pk}/preview")["Content-Type"] == "image/png"


def test_faceless_photo_fails_with_a_message(staff_client):
    response = upload(staff_client, "Wall", png_bytes(np.full((300, 300, 3), 128, np.uint8)))
    assert response.status_code == 302
    avatar = prepared("Wall")
    assert avatar.status == "failed" and avatar.error_code == "face_not_found"
    page = staff_client.get(f"/admin/avatars/avatar/{avatar.pk}/change/").content.decode()
    assert "На этом фото не найдено лицо" in page  # "No face was found", ru UI


def test_non_image_is_refused(staff_client):
    response = upload(staff_client, "Text", b"this is not an image at all")
    assert response.status_code == 200
    assert not Avatar.objects.exists()


def test_only_one_default(db, avatar, demo_png):
    second = Avatar.objects.create(name="Second", source=avatar.source.name, status="ready", is_default=True)
    avatar.refresh_from_db()
    assert second.is_default and not avatar.is_default
    assert Avatar.default() == second


def test_decompression_bomb_is_refused_before_decoding(staff_client, settings):
    buffer = io.BytesIO()
    Image.new("L", (9000, 9000)).save(buffer, "PNG")  # 81 MP of zeros: ~80 KB on disk
    response = upload(staff_client, "Bomb", buffer.getvalue())
    assert response.status_code == 200
    assert "мегапикселей" in response.content.decode()  # "megapixels", ru UI
    assert not Avatar.objects.exists()


def test_truncated_image_is_refused(staff_client, demo_png):
    response = upload(staff_client, "Broken", demo_png[: len(demo_png) // 2])
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert not Avatar.objects.exists()


def test_exif_rotated_photo_is_analysed_upright(staff_client, demo_png):
    upright = Image.open(io.BytesIO(demo_png)).convert("RGB")
    rotated = upright.transpose(Image.Transpose.ROTATE_90)  # stored sideways ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... with the orientation tag that says "turn 90° clockwise to view"
    buffer = io.BytesIO()
    rotated.save(buffer, "JPEG", exif=exif, quality=95)
    response = staff_client.post("/admin/avatars/avatar/add/", {
        "name": "Sideways", "source": SimpleUploadedFile("s.jpg", buffer.getvalue(), "image/jpeg"), "is_active": "on", "motion": "subtle"})
    assert response.status_code == 302, response.content.decode()[:1500]
    face = prepared("Sideways").face()
    eyes_y = face.landmarks[36:48, 1].mean()
    mouth_y = face.landmarks[48:68, 1].mean()
    assert eyes_y < mouth_y  # upright: eyes above the mouth
    assert face.image_size == upright.size

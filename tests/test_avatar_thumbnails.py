"""The avatar pickers show the picture as it is: a clean first frame, not the admin's preview with its face box
and landmark dots."""
import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image

from avatars.models import Avatar
from avatars.worker.preparation import prepare_avatar
from generation.pipeline.images import PREVIEW_BOX_COLOR

pytestmark = pytest.mark.django_db


def box_pixels(data: bytes, box) -> int:
    """How many pixels along the top edge of `box` are (nearly) the preview's box colour."""
    picture = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    scale = picture.shape[1] / 352  # the demo photo is 352 px wide
    left, top, right, _bottom = (round(v * scale) for v in box)
    edge = picture[max(0, top - 1):top + 2, left:right]
    return int((np.abs(edge - np.array(PREVIEW_BOX_COLOR)).sum(axis=-1) < 60).sum())


def test_the_pickers_show_a_clean_thumbnail(client, user, other_user, demo_png):
    mine = Avatar(name="Me", owner=user)
    mine.source.save("me.png", ContentFile(demo_png), save=True)
    prepare_avatar(mine.pk)
    mine.refresh_from_db()
    client.force_login(user)
    url = f"/avatars/{mine.pk}/thumbnail.jpg"
    for page in ("/", "/avatars/"):
        assert f'src="{url}"' in client.get(page).content.decode(), page
    thumbnail = client.get(url)
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/jpeg"
    body = b"".join(thumbnail.streaming_content)
    assert body[:2] == b"\xff\xd8"
    preview = b"".join(client.get(f"/avatars/{mine.pk}/preview").streaming_content)
    assert box_pixels(preview, mine.face_box) > 20  # the admin's preview has its box ...
    assert box_pixels(body, mine.face_box) < 3  # ... the thumbnail none
    client.force_login(other_user)
    assert client.get(url).status_code == 404


def test_an_avatar_prepared_before_thumbnails_shows_its_photo(user, demo_png):
    old = Avatar(name="Old", owner=user, status="ready")
    old.source.save("old.png", ContentFile(demo_png), save=True)
    old.preview.save("old-preview.png", ContentFile(demo_png), save=True)
    assert old.thumbnail_url() == f"/avatars/{old.pk}/source"

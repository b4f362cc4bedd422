"""A made request is history in the admin: its input is shown, not editable; timings are rounded; motion shown."""
import pytest

from tests.test_human_names import avatar_row, finished  # noqa: F401  (fixture and helper)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="root-password-1"))
    client.cookies["django_language"] = "en"
    return client


def test_a_finished_request_cannot_be_edited(staff_client, user, avatar_row):  # noqa: F811
    request = finished(user, avatar_row, text="Привет", voice="ru", motion="lively")
    url = f"/admin/generation/generationrequest/{request.pk}/change/"
    page = staff_client.get(url).content.decode()
    for field in ("text", "voice", "language", "engine", "motion", "subtitles", "avatar", "owner"):
        assert f'name="{field}"' not in page, field
    assert "Lively" in page and "Head motion" in page  # the motion is shown
    staff_client.post(url, {"text": "changed", "voice": "kk"})
    request.refresh_from_db()
    assert (request.text, request.voice) == ("Привет", "ru")


def test_timings_are_rounded_and_named(staff_client, user, avatar_row):  # noqa: F811
    finished(user, avatar_row, text="Привет", voice="ru")
    listing = staff_client.get("/admin/generation/generationrequest/").content.decode()
    assert "2.27 s" in listing and "2.267" not in listing
    change = staff_client.get("/admin/generation/generationrequest/").content.decode()
    assert "Total" in change and "Total seconds" not in change


def test_adding_a_request_still_offers_the_fields(staff_client):
    page = staff_client.get("/admin/generation/generationrequest/add/").content.decode()
    assert 'name="text"' in page and 'name="motion"' in page

"""Re-making: "again with changes" fills the Create form from a finished request; owners rename their
avatars (page and PATCH); the history is searchable and filterable and says which avatar spoke."""
import re
import pytest
from django.core.files.base import ContentFile

from avatars.models import Avatar, AvatarStatus
from generation.models import GenerationRequest, Status

pytestmark = pytest.mark.django_db


def own_avatar(user, name="Granny") -> Avatar:
    avatar = Avatar(name=name, owner=user, status=AvatarStatus.READY)
    avatar.source.save("photo.png", ContentFile(b"\x89PNG\r\n\x1a\n"), save=True)
    return avatar


def made(user, avatar, text, language="en", status=Status.DONE, **fields) -> GenerationRequest:
    return GenerationRequest.objects.create(owner=user, avatar=avatar, text=text, language=language, status=status,
                                            **fields)


def test_again_with_changes_fills_the_form(client, user, avatar):
    mine = own_avatar(user)
    source = made(user, mine, "Say it once more", language="kk", voice="kk-voice-x", motion="lively",
                  subtitles="burn")
    client.force_login(user)
    detail = client.get(f"/generations/{source.pk}/").content.decode()
    assert f'href="/?from={source.pk}"' in detail
    page = client.get(f"/?from={source.pk}").content.decode()
    assert ">Say it once more</textarea>" in page
    assert 'value="kk" checked' in page and 'data-initial="kk-voice-x"' in page
    assert '<option value="lively" selected>' in page and '<option value="burn" selected>' in page
    checked = re.findall(r'name="avatar" value="(\d+)"[^>]*\bchecked', page)
    assert checked == [str(mine.pk)]


def test_again_with_changes_ignores_other_users_and_unfinished_requests(client, user, other_user, avatar):
    theirs = made(other_user, avatar, "bob's secret words")
    queued = made(user, avatar, "still queued", status=Status.QUEUED)
    client.force_login(user)
    for value in (theirs.pk, queued.pk, "x", "9" * 40):
        page = client.get(f"/?from={value}")
        assert page.status_code == 200
        assert "bob's secret words" not in page.content.decode() and "still queued</textarea>" not in page.content.decode()


def test_owner_renames_on_the_page(client, user, other_user):
    mine, theirs = own_avatar(user), own_avatar(other_user, "Bob's dad")
    client.force_login(user)
    assert 'action="/avatars/%d/rename/"' % mine.pk in client.get("/avatars/").content.decode()
    done = client.post(f"/avatars/{mine.pk}/rename/", {"name": "  Grandmother  "})
    assert done.status_code == 302
    mine.refresh_from_db()
    assert mine.name == "Grandmother"
    assert client.post(f"/avatars/{mine.pk}/rename/", {"name": "   "}).status_code == 400
    assert client.post(f"/avatars/{theirs.pk}/rename/", {"name": "mine now"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Bob's dad"


def test_rename_through_the_api(api, other_api, user, avatar):
    mine = own_avatar(user)
    renamed = api.patch(f"/api/v1/avatars/{mine.pk}/", {"name": "Nana"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Nana"
    assert other_api.patch(f"/api/v1/avatars/{mine.pk}/", {"name": "x"}, format="json").status_code == 404
    shared = api.patch(f"/api/v1/avatars/{avatar.pk}/", {"name": "Mine"}, format="json")
    assert shared.status_code == 403
    for bad in ({"name": ""}, {"name": "x" * 101}, {"name": 5}, {}):
        assert api.patch(f"/api/v1/avatars/{mine.pk}/", bad, format="json").status_code == 400
    avatar.refresh_from_db()
    mine.refresh_from_db()
    assert mine.name == "Nana" and avatar.name != "Mine"


@pytest.fixture
def history(user, other_user, avatar):
    granny = own_avatar(user)
    rows = {
        "hello": made(user, avatar, "Hello world", language="en"),
        "privet": made(user, granny, "Привет, мир", language="ru"),
        "failed": made(user, granny, "Hello again", language="en", status=Status.FAILED),
        "bobs": made(other_user, avatar, "Hello from bob", language="en"),
    }
    return granny, rows


def ids(answer) -> set[int]:
    return {row["id"] for row in answer.json()["results"]}


def test_api_history_search_and_filters(api, history, avatar):
    granny, rows = history
    assert ids(api.get("/api/v1/generations/?q=hello")) == {rows["hello"].pk, rows["failed"].pk}
    assert ids(api.get("/api/v1/generations/?q=мир")) == {rows["privet"].pk}
    assert ids(api.get("/api/v1/generations/?status=failed")) == {rows["failed"].pk}
    assert ids(api.get("/api/v1/generations/?language=ru")) == {rows["privet"].pk}
    assert ids(api.get(f"/api/v1/generations/?avatar={granny.pk}&q=hello")) == {rows["failed"].pk}
    assert ids(api.get(f"/api/v1/generations/?avatar={avatar.pk}")) == {rows["hello"].pk}  # never bob's
    listed = {row["id"]: row for row in api.get("/api/v1/generations/").json()["results"]}
    assert listed[rows["privet"].pk]["avatar_name"] == "Granny"
    for bad in ("status=finished", "language=de", "avatar=x", "avatar=0"):
        assert api.get(f"/api/v1/generations/?{bad}").status_code == 400


def test_history_page_search_filters_and_shows_the_avatar(client, user, history):
    granny, rows = history
    client.force_login(user)
    page = client.get("/history/", {"q": "hello", "avatar": granny.pk}).content.decode()
    assert f'id="g-{rows["failed"].pk}"' in page and f'id="g-{rows["hello"].pk}"' not in page
    assert 'class="avatar-name">Granny<' in page and f'<option value="{granny.pk}" selected>' in page
    assert "Hello from bob" not in page and f'href="/?from={rows["failed"].pk}"' in page
    none = client.get("/history/", {"status": "cancelled"}).content.decode()
    assert 'id="no-matches"' in none
    odd = client.get("/history/", {"status": "nope", "language": "xx", "avatar": "abc"})
    assert odd.status_code == 200 and odd.content.decode().count('class="item ') == 3  # unknown values: no filter


def test_the_schema_documents_filters_and_rename(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    names = {p["name"] for p in schema["paths"]["/api/v1/generations/"]["get"]["parameters"]}
    assert {"q", "status", "language", "avatar", "page"} <= names
    assert schema["paths"]["/api/v1/avatars/{id}/"]["patch"]["summary"] == "Rename your avatar"
    assert schema["components"]["schemas"]["PatchedAvatarRename"]["required"] == ["name"]


def test_api_filters_refuse_empty_values(api, history):
    for name in ("q", "status", "language", "avatar"):
        answer = api.get(f"/api/v1/generations/?{name}=")
        assert answer.status_code == 400 and name in answer.json()

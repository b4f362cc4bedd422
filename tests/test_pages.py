"""Server-rendered pages: login, generate form, history, detail; escaping and ownership."""
import pytest

from generation.models import GenerationRequest, Status

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script> "quoted" & \'single\''


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", ["/", "/history/", "/generations/1/"])
def test_pages_need_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_login_page_and_login(client, user):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_generate_page_has_the_form(logged_in, avatar):
    html = logged_in.get("/").content.decode()
    for piece in ["Озвучить и создать видео", 'value="ru"', 'value="kk"', 'value="en"', "id_voice", f"/avatars/{avatar.pk}/thumbnail.jpg"]:
        assert piece in html


def test_form_post_creates_request_and_redirects(logged_in, user, avatar):
    response = logged_in.post("/", {"text": "Привет!", "language": "kk", "avatar": avatar.pk})
    request = GenerationRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/generations/{request.pk}/"
    assert (request.owner, request.language, request.status) == (user, "kk", Status.QUEUED)


def test_form_errors_are_shown_not_500(logged_in, avatar):
    response = logged_in.post("/", {"text": "   ", "language": "xx"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Введите текст" in html  # "Enter the text", in the default Russian UI
    assert not GenerationRequest.objects.exists()


def test_text_is_escaped_on_every_page(logged_in, user, avatar):
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text=XSS, language="en",
                                               status=Status.FAILED, error_code="internal",
                                               error_detail=XSS)
    for url in ["/", "/history/", f"/generations/{request.pk}/"]:
        html = logged_in.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "&lt;script&gt;" in html, url


def test_other_users_pages_are_404(client, other_user, user, avatar):
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="secret words", language="ru")
    client.force_login(other_user)
    for method, url in [("get", f"/generations/{request.pk}/"), ("get", f"/generations/{request.pk}/video"),
                        ("post", f"/generations/{request.pk}/delete/"), ("post", f"/generations/{request.pk}/cancel/")]:
        response = getattr(client, method)(url)
        assert response.status_code == 404
        assert "secret words" not in response.content.decode()
    assert "secret words" not in client.get("/history/").content.decode()
    assert GenerationRequest.objects.filter(pk=request.pk, status=Status.QUEUED).exists()


def test_history_newest_first(logged_in, user, avatar):
    for text in ["first words", "second words"]:
        GenerationRequest.objects.create(owner=user, avatar=avatar, text=text, language="ru")
    html = logged_in.get("/history/").content.decode()
    assert html.index("second words") < html.index("first words")


def test_unknown_page_is_a_friendly_404(logged_in):
    response = logged_in.get("/no/such/page/")
    assert response.status_code == 404


def test_user_creates_and_revokes_api_token(logged_in, user):
    from rest_framework.authtoken.models import Token

    assert logged_in.get("/account/token/").status_code == 200
    logged_in.post("/account/token/", {"action": "create"})
    first = Token.objects.get(user=user).key
    assert first in logged_in.get("/account/token/").content.decode()
    logged_in.post("/account/token/", {"action": "create"})
    second = Token.objects.get(user=user).key
    assert second != first  # the old token stopped working
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert client.get("/api/v1/generations/").status_code == 401
    logged_in.post("/account/token/", {"action": "revoke"})
    assert not Token.objects.filter(user=user).exists()

"""No error body carries Python's exception text or a model's name; 404 is a sentence in the caller's language."""
import pytest

from generation.models import GenerationRequest

pytestmark = pytest.mark.django_db

LANGUAGES = ("ru", "kk", "en")
LEAKS = ("GenerationRequest", "matches the given query", "codec", "position", "set_int_max_str_digits",
         "Traceback", "Exceeds the limit", "Expecting")


def detail(response) -> str:
    body = response.json()
    assert not any(leak in str(body) for leak in LEAKS), body
    return body["detail"]


def test_404_is_a_translated_sentence_without_model_names(api, other_api, user, avatar):
    theirs = GenerationRequest.objects.create(owner=user, avatar=avatar, text="x", language="ru")
    sentences = set()
    for language in LANGUAGES:
        headers = {"HTTP_ACCEPT_LANGUAGE": language}
        missing = api.get("/api/v1/generations/999999/", **headers)
        not_mine = other_api.get(f"/api/v1/generations/{theirs.pk}/", **headers)
        no_route = api.get("/api/v1/no-such-thing/", **headers)
        assert missing.status_code == not_mine.status_code == no_route.status_code == 404
        # another user's object and a missing one read the same
        assert detail(missing) == detail(not_mine) == detail(no_route)
        sentences.add(detail(missing))
    assert len(sentences) == 3  # one per language, not English for all


@pytest.mark.parametrize("body", [
    b'{"text": "\xff\xfe", "language": "ru"}',  # not UTF-8
    b'{"text": "x", "language": "ru", "avatar": ' + b"9" * 5000 + b"}",  # past Python's int digit limit
    b'{"text": "x", "language": ',  # cut off
    b"[" * 100_000,  # nested too deeply
])
def test_unparseable_bodies_answer_a_sentence_not_the_parsers_words(api, avatar, body):
    sentences = set()
    for language in LANGUAGES:
        response = api.post("/api/v1/generations/", body, content_type="application/json",
                            HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 400, response.content[:200]
        sentences.add(detail(response))
    assert len(sentences) == 3
    assert not GenerationRequest.objects.exists()


def test_token_endpoint_parse_errors_leak_nothing(client):
    response = client.post("/api/v1/auth/token/", b'{"username": "\xff"}', content_type="application/json")
    assert response.status_code == 400
    detail(response)


def test_a_page_number_past_pythons_digit_limit_is_a_404_not_a_500(api):
    response = api.get("/api/v1/generations/?page=" + "9" * 5000)
    assert response.status_code == 404
    detail(response)

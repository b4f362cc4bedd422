"""Everything under /api/ answers JSON (with DEBUG on too), the root lists the resources, the schema names and
groups every operation, and `download` is a boolean or a 400."""
import pytest

pytestmark = pytest.mark.django_db

NOT_FOUND = "Not found: there is nothing at this address, or it is not yours."


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/api/v1/generations/null,null/", "/api/v1/nothing-here", "/api/",
                                  "/api/v1/avatars/abc/preview", "/api/v1/generations/1/captions.txt"])
def test_unknown_paths_and_malformed_ids_answer_json(api, settings, debug, path):
    settings.DEBUG = debug  # `make run` has DEBUG on: Django's own 404 page would be HTML
    response = api.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": NOT_FOUND}


def test_unknown_paths_answer_json_without_credentials(client):
    response = client.post("/api/v1/generations/null,null/cancel/")
    assert response.status_code == 404 and response.json() == {"detail": NOT_FOUND}


def test_the_api_root_lists_the_resources(client):
    body = client.get("/api/v1/").json()
    assert {"avatars", "voices", "generations", "me", "token", "schema", "docs"} <= set(body)
    assert body["generations"] == "http://testserver/api/v1/generations/"


@pytest.mark.parametrize("value, status", [("maybe", 400), ("2", 400), ("true", 404), ("1", 404), ("false", 404)])
def test_download_must_be_a_boolean(api, value, status):
    # 404: no such video; the parameter was read before that and was fine
    response = api.get(f"/api/v1/generations/987/captions.vtt?download={value}")
    assert response.status_code == status, response.content
    if status == 400:
        assert "download" in response.json() and value in response.json()["download"][0]
    assert api.get(f"/api/v1/generations/987/video?download={value}").status_code == status


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_has_a_summary_a_description_and_a_resource_tag(schema):
    tags = {tag["name"] for tag in schema["tags"]}
    assert {"generations", "avatars", "voices", "tokens", "account"} <= tags
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation["summary"] and len(operation["summary"]) < 60, (method, path)
            assert operation["description"].strip(), (method, path)
            assert len(operation["tags"]) == 1 and operation["tags"][0] in tags, (method, path)
    assert schema["paths"]["/api/generate"]["post"]["tags"] == ["generations"]
    assert schema["paths"]["/api/v1/auth/token/"]["post"]["tags"] == ["tokens"]


def test_the_description_speaks_of_photo_and_video_avatars(schema):
    assert "photo or video avatar" in schema["info"]["description"]


def test_the_download_parameter_and_its_400_are_documented(schema):
    for path in ("/api/v1/generations/{id}/video", "/api/v1/generations/{id}/captions.vtt"):
        operation = schema["paths"][path]["get"]
        assert any(p["name"] == "download" and p["schema"]["type"] == "boolean" for p in operation["parameters"])
        assert "400" in operation["responses"]


@pytest.mark.parametrize("path", ["/api/generate", "/api/v1/generations/"])
def test_an_unknown_avatar_answers_the_documented_404(api, avatar, schema, path):
    assert "404" in schema["paths"][path]["post"]["responses"]
    response = api.post(path, {"text": "Привет", "language": "ru", "avatar": 987654}, format="json")
    assert response.status_code == 404, response.content
    assert "avatar" in response.json() and response.json()["detail"]


def test_a_missing_final_slash_is_still_redirected(api):
    response = api.get("/api/v1/generations?page=1")
    assert response.status_code == 301 and response["Location"] == "/api/v1/generations/?page=1"
    assert api.get("/api/v1/nothing").status_code == 404
    assert api.post("/api/v1/generations", {}, format="json").status_code == 404  # a redirect would drop the body

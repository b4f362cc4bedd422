"""Web and worker share no disk: a real S3 API server (moto) holds every file, each process has its own MEDIA_ROOT.

gunicorn (production mode) and a real qcluster run against the same database and bucket, with
different MEDIA_ROOT and cache directories; the test speaks HTTP to gunicorn only, as a client would.
"""
from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.s3 import MotoServer
from tests.server import Gunicorn
from tests.worker import Cluster, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]

BUCKET = "avatar-media"
JOB_TIMEOUT = 240  # the first job loads the models on a 2-core CI machine


@pytest.fixture
def moto(tmp_path):
    server = MotoServer(tmp_path / "moto.log").start()
    yield server
    server.stop()


def files_under(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_web_and_worker_share_only_the_bucket(user, moto, tmp_path, demo_png, collected_static):
    moto.create_bucket(BUCKET)
    web_media, worker_media = tmp_path / "web-media", tmp_path / "worker-media"
    web_media.mkdir(), worker_media.mkdir()
    web = Gunicorn(web_media, collected_static, tmp_path / "web.log",
                   **moto.env(BUCKET, STORAGE_CACHE_DIR=tmp_path / "web-cache")).start()
    worker = Cluster(worker_media, tmp_path / "worker.log",
                     **moto.env(BUCKET, STORAGE_CACHE_DIR=tmp_path / "worker-cache")).start()
    http = requests.Session()
    http.headers.update({**web.https, "Authorization": f"Token {Token.objects.create(user=user).key}"})
    browser = Client()  # the pages' session, for the avatar's own views
    browser.force_login(user)
    http.cookies.set("sessionid", browser.cookies["sessionid"].value)
    try:
        # an avatar photo: stored in the bucket by the web process, prepared by the worker from there
        answer = http.post(web.url + "/api/v1/avatars/", data={"name": "Mine"},
                           files={"file": ("me.png", demo_png, "image/png")})
        assert answer.status_code == 202, answer.text
        avatar_id = answer.json()["id"]
        avatar = wait_for(lambda: (lambda a: a if a["status"] != "preparing" else None)(
            http.get(f"{web.url}/api/v1/avatars/{avatar_id}/").json()), JOB_TIMEOUT, message="avatar prepared")
        assert avatar["status"] == "ready", (avatar, worker.output())

        answer = http.post(web.url + "/api/v1/generations/",
                           json={"text": "Hello from the bucket.", "language": "en", "avatar": avatar_id})
        assert answer.status_code == 202, answer.text
        gen_id = answer.json()["id"]
        body = wait_for(lambda: (lambda g: g if g["status"] in ("done", "failed") else None)(
            http.get(f"{web.url}/api/v1/generations/{gen_id}/").json()), JOB_TIMEOUT, message="video done")
        assert body["status"] == "done", (body, worker.output())
        keys = moto.keys(BUCKET)
        video_keys = {k for k in keys if k.startswith("videos/")}
        assert len(video_keys) == 2 and any(k.endswith(".mp4") for k in video_keys), keys  # the MP4 and its poster
        mp4_key = next(k for k in video_keys if k.endswith(".mp4"))
        stored = moto.client().get_object(Bucket=BUCKET, Key=mp4_key)["Body"].read()
        assert len(stored) == body["video"]["size"] and stored[4:8] == b"ftyp"

        # the owner-checking view answers with a short-lived signed link into the bucket
        video_url = web.url + urlsplit(body["video"]["url"]).path  # the API names the https address of a proxy
        redirect = http.get(video_url, allow_redirects=False)
        assert redirect.status_code == 302 and redirect.headers["Cache-Control"] == "private, no-store"
        link = redirect.headers["Location"]
        assert link.startswith(moto.url) and "X-Amz-Signature=" in link and "X-Amz-Expires=300" in link
        # ... which honours Range (what a player asks for), with our type and disposition
        part = requests.get(link, headers={"Range": "bytes=100-1099"})
        assert part.status_code == 206 and part.content == stored[100:1100]
        assert part.headers["Content-Type"] == "video/mp4"
        assert part.headers["Content-Disposition"].startswith("inline")
        download = requests.get(http.get(video_url + "?download=1", allow_redirects=False)
                                .headers["Location"])
        assert download.content == stored and download.headers["Content-Disposition"].startswith("attachment")
        # the object itself is not public (moto does not check signatures, so a tampered link is not tried here)
        assert requests.get(f"{moto.url}/{BUCKET}/{mp4_key}").status_code == 403
        # nobody else gets a link at all
        stranger = Token.objects.create(user=type(user).objects.create_user("mallory", password="m-password-1"))
        assert requests.get(video_url, headers={**web.https, "Authorization": f"Token {stranger.key}"},
                            allow_redirects=False).status_code == 404

        # the avatar's preview (made by the worker) and its photo (stored by the web process)
        preview = requests.get(http.get(f"{web.url}/avatars/{avatar_id}/preview", allow_redirects=False)
                               .headers["Location"])
        assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")
        photo = requests.get(http.get(f"{web.url}/avatars/{avatar_id}/source", allow_redirects=False)
                             .headers["Location"])
        assert photo.content == demo_png and photo.headers["Content-Type"] == "image/png"

        # deleting the request removes its objects from the bucket
        assert http.delete(f"{web.url}/api/v1/generations/{gen_id}/").status_code == 204
        assert not {k for k in moto.keys(BUCKET) if k.startswith("videos/")}
    finally:
        worker.stop()
        web.stop()
    # neither process wrote anything the other needed: both MEDIA_ROOTs stayed empty
    assert files_under(web_media) == [] and files_under(worker_media) == []
    assert files_under(tmp_path / "worker-cache")  # the worker read the photo through its cache

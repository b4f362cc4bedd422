"""Floods and malformed requests: bounded bodies, caps that hold under concurrency, no 500s, tokens that end."""
import socket
import threading
import time
from datetime import timedelta

import pytest
import requests
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from generation.models import GenerationRequest, Status, Video
from tests.server import Gunicorn

pytestmark = pytest.mark.django_db

HUGE = 500 * 1024 * 1024


# --- 2. request bodies are bounded before they are read -------------------------------------------

@pytest.fixture
def site(media_root, collected_static, tmp_path):
    """The site as production runs it: gunicorn, 2 processes x 2 threads, DEBUG off."""
    spool = tmp_path / "spool"
    spool.mkdir()
    server = Gunicorn(media_root, collected_static, tmp_path / "gunicorn.log", FILE_UPLOAD_TEMP_DIR=spool,
                      MAX_ACTIVE_PER_USER=5, GENERATION_RATE="1000/min").start()
    server.spool = spool
    yield server
    server.stop()


STREAMED = 8 * 1024 * 1024  # what a client streams before it looks for an answer: past the 2.5 MB in memory


class SpoolWatcher:
    """The most bytes FILE_UPLOAD_TEMP_DIR held at any moment (Django deletes a spooled file after the request)."""

    def __init__(self, folder):
        self.folder, self.peak = folder, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def size(self) -> int:
        total = 0
        for path in self.folder.rglob("*"):
            try:
                total += path.stat().st_size
            except OSError:  # deleted between listing and stat
                pass
        return total

    def _watch(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.size())
            time.sleep(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        time.sleep(0.2)  # a last look after the answer
        self._stop.set()
        self._thread.join()


def send_headers_only(site, path: str, headers: dict) -> bytes:
    """Announce a body of HUGE bytes, stream STREAMED of it while the server lets us, and read its answer."""
    port = int(site.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "X-Forwarded-Proto: https",
                 f"Content-Length: {HUGE}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        sock.sendall("\r\n".join(lines).encode())
        # multipart that Django would spool to disk if it read it: one file part, then its bytes
        body = b"--xyz\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"a.wav\"\r\n\r\n"
        try:
            sock.sendall(body)
            for _ in range(STREAMED // 65536):
                sock.sendall(b"-" * 65536)
        except OSError:  # the server answered and closed while we were still sending: the point
            pass
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < 20:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


@pytest.mark.django_db(transaction=True)
def test_huge_upload_is_refused_from_its_length_with_nothing_spooled(site, user, client, settings):
    login_page = requests.get(site.url + "/accounts/login/", headers=site.https, timeout=10)
    csrf = login_page.cookies["csrftoken"]
    multipart = {"Content-Type": "multipart/form-data; boundary=xyz", "Cookie": f"csrftoken={csrf}",
                 "X-CSRFToken": csrf, "Referer": site.url + "/"}
    client.force_login(user)
    logged_in = {**multipart, "Cookie": f"csrftoken={csrf}; sessionid={client.cookies['sessionid'].value}"}
    token = Token.objects.create(user=user).key
    api = {"Content-Type": "multipart/form-data; boundary=xyz", "Authorization": f"Token {token}"}
    with SpoolWatcher(site.spool) as refused:
        anonymous = send_headers_only(site, "/", multipart)
        assert anonymous.startswith(b"HTTP/1.1 413"), anonymous[:200]
        assert send_headers_only(site, "/", logged_in).startswith(b"HTTP/1.1 413")
        answer = send_headers_only(site, "/api/v1/generations/", api)
        assert answer.startswith(b"HTTP/1.1 413") and b"limit" in answer
        big_json = send_headers_only(site, "/api/v1/auth/token/", {"Content-Type": "application/json"})
        assert big_json.startswith(b"HTTP/1.1 413")
    assert refused.peak == 0  # the temp directory never grew

    # The watcher sees spooling when it happens: a file within the limit is spooled, and no more than it.
    within = 4 * 1024 * 1024
    with SpoolWatcher(site.spool) as accepted:
        response = requests.post(site.url + "/api/v1/generations/", data={"language": "en"},
                                 files={"audio": ("a.wav", b"\0" * within)},
                                 headers={"Authorization": f"Token {token}", **site.https}, timeout=60)
    assert response.status_code == 400  # read, then refused as not audio
    assert within <= accepted.peak <= settings.MAX_AUDIO_BYTES, accepted.peak
    print(f"\nspool peak: {refused.peak} B for four refused 500 MB bodies ({STREAMED >> 20} MB streamed each), "
          f"{accepted.peak} B for a {within >> 20} MB upload within the limit")


def test_limits_per_route_and_client(client, user, avatar, settings):
    settings.MAX_BODY_BYTES = 1000
    settings.MAX_AUDIO_BYTES = 5000
    body = {"text": "x", "language": "ru", "audio": ContentFile(b"\0" * 3000, name="a.wav")}
    # the upload allowance is for logged-in users on upload routes only: a stranger gets the small limit
    assert client.post("/", body).status_code == 413
    client.force_login(user)
    assert client.post("/", body).status_code != 413  # within the audio allowance (then refused as not audio)
    over = 5000 + 64 * 1024 + 1  # the file's limit plus the multipart allowance, and a byte
    assert client.post("/", {**body, "audio": ContentFile(b"\0" * over, name="a.wav")}).status_code == 413
    assert client.post("/history/", {"x": "y" * 3000}).status_code == 413  # not an upload route


# --- 4. the active-job cap holds under concurrency; reuses count ----------------------------------

@pytest.mark.django_db(transaction=True)
def test_twenty_five_simultaneous_posts_respect_the_cap_of_five(site, user, avatar):
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}", **site.https}
    start = threading.Barrier(25)
    codes = []

    def post(i):
        start.wait()
        try:
            codes.append(requests.post(site.url + "/api/v1/generations/", json={"text": f"job {i}", "language": "ru"},
                                       headers=headers, timeout=60).status_code)
        except requests.RequestException as exc:
            codes.append(repr(exc))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, codes)) == ["202"] * 5 + ["429"] * 20, (codes, site.output())
    assert GenerationRequest.objects.unfinished().count() == 5


def test_a_reuse_at_the_cap_is_refused_too(api, user, avatar, settings):
    settings.MAX_ACTIVE_PER_USER = 1
    done = GenerationRequest.objects.create(owner=user, avatar=avatar, text="again", language="ru", status=Status.DONE,
                                            voice="ru", engine="viseme")
    video = Video(request=done, duration=1, fps=25, width=4, height=4, size=3)
    video.file.save("v.mp4", ContentFile(b"abc"), save=True)
    assert api.post("/api/v1/generations/", {"text": "busy", "language": "ru"}, format="json").status_code == 202
    response = api.post("/api/v1/generations/", {"text": "again", "language": "ru"}, format="json")
    assert response.status_code == 429


# --- 6. the page form is throttled like the API ----------------------------------------------------

def test_page_form_shares_the_apis_rate_limit(client, api, user, avatar, settings, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"generations": "3/min", "login": "30/min"})
    settings.MAX_ACTIVE_PER_USER = 100
    client.force_login(user)
    codes = [client.post("/", {"text": f"page {i}", "language": "ru"}).status_code for i in range(4)]
    assert codes == [302, 302, 302, 429]
    page = client.post("/", {"text": "kept text", "language": "ru"})
    assert page.status_code == 429 and "kept text" in page.content.decode()  # the user's text is not lost
    assert api.post("/api/v1/generations/", {"text": "api", "language": "ru"}, format="json").status_code == 429
    assert GenerationRequest.objects.count() == 3


# --- 7. malformed input never gives a 500 ---------------------------------------------------------

def test_absurd_range_is_416(api, user, avatar):
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="x", language="ru", status=Status.DONE)
    video = Video(request=request, duration=1, fps=25, width=4, height=4, size=10)
    video.file.save("v.mp4", ContentFile(b"0123456789"), save=True)
    for header in ("bytes=" + "9" * 4400 + "-", "bytes=-" + "9" * 4400, "bytes=0-" + "9" * 4400):
        assert api.get(f"/api/v1/generations/{request.pk}/video", HTTP_RANGE=header).status_code == 416


@pytest.mark.parametrize("url", ["/api/v1/generations/", "/api/v1/auth/token/"])
def test_deeply_nested_json_is_400(api, url):
    response = api.generic("POST", url, "[" * 100_000, content_type="application/json")
    assert response.status_code == 400 and "JSON" in response.json()["detail"]
    anonymous = APIClient().generic("POST", url, "[" * 100_000, content_type="application/json")
    assert anonymous.status_code in (400, 401)


@pytest.mark.django_db(transaction=True)
def test_malformed_input_through_gunicorn_is_4xx(site, user, avatar):
    """The same two inputs as production parses them (gunicorn, DEBUG off): the answer is never a 500."""
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="x", language="ru", status=Status.DONE)
    video = Video(request=request, duration=1, fps=25, width=4, height=4, size=10)
    video.file.save("v.mp4", ContentFile(b"0123456789"), save=True)
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}", **site.https}
    ranged = requests.get(f"{site.url}/api/v1/generations/{request.pk}/video", timeout=10,
                          headers={**headers, "Range": "bytes=" + "9" * 4400 + "-"})
    assert ranged.status_code == 416
    for url, auth in (("/api/v1/generations/", headers), ("/api/v1/auth/token/", site.https)):
        nested = requests.post(site.url + url, data="[" * 100_000, timeout=10,
                               headers={**auth, "Content-Type": "application/json"})
        assert nested.status_code == 400 and "JSON" in nested.json()["detail"], (url, nested.status_code)


# --- 8. tokens end --------------------------------------------------------------------------------

def test_password_change_revokes_the_token(api, user):
    assert api.get("/api/v1/generations/").status_code == 200
    user.set_password("a-new-password-2")
    user.save()
    assert api.get("/api/v1/generations/").status_code == 401
    user.first_name = "Alice"
    user.save()  # saving without a new password keeps a new token working
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    user.save()
    assert fresh.get("/api/v1/generations/").status_code == 200


def test_tokens_expire_after_the_configured_days(api, user, settings):
    settings.TOKEN_TTL_DAYS = 30
    assert api.get("/api/v1/generations/").status_code == 200
    Token.objects.filter(user=user).update(created=timezone.now() - timedelta(days=31))
    response = api.get("/api/v1/generations/")
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_an_expired_token_is_replaced_at_the_token_endpoint(user, settings):
    settings.TOKEN_TTL_DAYS = 1
    user.set_password("pw-for-renewal-1")
    user.save()
    anonymous = APIClient()
    credentials = {"username": user.username, "password": "pw-for-renewal-1"}
    first = anonymous.post("/api/v1/auth/token/", credentials, format="json").json()["token"]
    assert anonymous.post("/api/v1/auth/token/", credentials, format="json").json()["token"] == first  # still valid
    Token.objects.filter(user=user).update(created=timezone.now() - timedelta(days=2))
    renewed = anonymous.post("/api/v1/auth/token/", credentials, format="json").json()["token"]
    assert renewed != first
    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {renewed}")
    assert anonymous.get("/api/v1/generations/").status_code == 200
    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert anonymous.get("/api/v1/generations/").status_code == 401


def test_token_page_is_never_cached(client, user):
    client.force_login(user)
    response = client.get("/account/token/")
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_counters_are_shared_by_every_web_process(media_root, collected_static, tmp_path, client, user, avatar):
    """Two gunicorn processes, one budget: the page form's rate limit and the login lockout hold across them."""
    server = Gunicorn(media_root, collected_static, tmp_path / "gunicorn.log", GENERATION_RATE="3/min",
                      LOGIN_FAILURES_PER_ADDRESS=5).start()
    try:
        client.force_login(user)
        session = requests.Session()
        origin = server.url.replace("http://", "https://")  # as the browser saw it, behind the TLS proxy
        session.headers.update({**server.https, "Referer": origin + "/"})
        csrf = session.get(server.url + "/", timeout=10).cookies["csrftoken"]
        session.cookies.clear()  # the site marks its cookies Secure; this plain-http client re-sends them
        session.cookies.update({"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf})
        codes = [session.post(server.url + "/", data={"text": f"page {i}", "language": "ru",
                                                       "csrfmiddlewaretoken": csrf}, allow_redirects=False,
                              timeout=30).status_code for i in range(5)]
        assert codes == [302, 302, 302, 429, 429], server.output()

        stranger = requests.Session()
        stranger.headers.update({**server.https, "Referer": origin + "/accounts/login/"})
        token = stranger.get(server.url + "/accounts/login/", timeout=10).cookies["csrftoken"]
        stranger.cookies.clear()
        stranger.cookies.update({"csrftoken": token})
        answers = [stranger.post(server.url + "/accounts/login/", timeout=30, allow_redirects=False, data={
            "username": f"guess{i}", "password": "wrong", "csrfmiddlewaretoken": token},
            # what the one trusted proxy passes on: the client's forged entry, then the address it saw
            headers={"X-Forwarded-For": f"203.0.113.{i}, 198.51.100.7"}).status_code for i in range(7)]
        assert answers[:4] == [200] * 4 and answers[-1] == 429  # forged addresses did not help
    finally:
        server.stop()

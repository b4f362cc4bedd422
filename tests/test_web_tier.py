"""The web tier as the README starts it (gunicorn -c gunicorn.conf.py): waits never take pages down, and
X-Forwarded-Proto is believed only from a trusted proxy."""
import os
import runpy
import threading
import time
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from generation.models import SyncWait
from tests.server import Gunicorn

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 4  # SYNC_GENERATE_TIMEOUT here: long enough to ask for a page in the middle of both waits


def gunicorn_settings(**env) -> dict:
    """What gunicorn.conf.py sets under these environment variables."""
    saved = dict(os.environ)
    os.environ.update({k: str(v) for k, v in env.items()})
    try:
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_the_configuration_outlasts_a_synchronous_wait_and_recycles_workers():
    conf = gunicorn_settings(SYNC_GENERATE_TIMEOUT=120)
    assert conf["worker_class"] == "gthread" and conf["threads"] >= 4
    assert conf["timeout"] > 120  # gunicorn's default of 30 s killed waits and answered 500 text/html
    assert conf["max_requests"] > 0 and conf["max_requests_jitter"] > 0
    assert conf["secure_scheme_headers"] == {}  # Django, not gunicorn, decides what https is
    assert gunicorn_settings(SYNC_GENERATE_TIMEOUT=600)["timeout"] > 600


@pytest.mark.django_db(transaction=True)
def test_two_waits_behind_a_busy_queue_answer_504_json_while_pages_answer(media_root, collected_static, tmp_path,
                                                                         user, other_user, avatar):
    # one worker process, as in the finding; no qcluster runs, so the queue never moves
    site = Gunicorn(media_root, collected_static, tmp_path / "gunicorn.log", WEB_WORKERS=1,
                    SYNC_GENERATE_TIMEOUT=WAIT_SECONDS, SYNC_GENERATE_TOTAL=2, SYNC_GENERATE_PER_USER=1,
                    GENERATION_RATE="1000/min").start()
    answers = {}

    def wait(who: User):
        headers = {"Authorization": f"Token {Token.objects.create(user=who).key}", **site.https}
        answers[who.username] = requests.post(site.url + "/api/generate", json={"text": "Привет!", "language": "ru"},
                                              headers=headers, timeout=WAIT_SECONDS + 60)

    waits = [threading.Thread(target=wait, args=(who,)) for who in (user, other_user)]
    try:
        for thread in waits:
            thread.start()
        deadline = time.monotonic() + 20
        while SyncWait.objects.count() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert SyncWait.objects.count() == 2, site.output()  # both sync slots are held
        asked = time.monotonic()
        page = requests.get(site.url + "/accounts/login/", headers=site.https, allow_redirects=False, timeout=30)
        took = time.monotonic() - asked
        both_still_waiting = SyncWait.objects.count() == 2
        for thread in waits:
            thread.join()
    finally:
        site.stop()
    # served as https: the test server runs as behind one trusted proxy (TRUSTED_PROXIES=1), which set the header
    assert page.status_code == 200 and "Strict-Transport-Security" in page.headers
    assert both_still_waiting  # the page did not wait for the waits to end
    print(f"\nlogin page while both sync slots wait: {took * 1000:.0f} ms (waits: {WAIT_SECONDS} s)")
    assert took < WAIT_SECONDS / 2, took
    for response in answers.values():
        assert response.status_code == 504, (response.status_code, response.text[:300])
        assert response.headers["Content-Type"].startswith("application/json")
        body = response.json()
        assert body["id"] and body["status_url"] and body["detail"]
    assert "WORKER TIMEOUT" not in site.log_path.read_text(errors="replace")


@pytest.mark.django_db(transaction=True)
def test_forwarded_proto_is_ignored_without_a_trusted_proxy(media_root, collected_static, tmp_path):
    site = Gunicorn(media_root, collected_static, tmp_path / "gunicorn.log", TRUSTED_PROXIES=0).start()
    try:
        spoofed = requests.get(site.url + "/accounts/login/", headers={"X-Forwarded-Proto": "https"},
                               allow_redirects=False, timeout=30)
    finally:
        site.stop()
    # plain http stays plain http: redirected to https, no HSTS, no page (nor its form) over cleartext
    assert spoofed.status_code == 301 and spoofed.headers["Location"].startswith("https://")
    assert "Strict-Transport-Security" not in spoofed.headers

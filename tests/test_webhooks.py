"""Webhooks without a worker: signing, retries against a real receiver, SSRF refusals, the admin log, /me."""
import json
import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from generation import webhooks
from generation.shared import netguard
from generation.models import DeliveryState, GenerationRequest, WebhookAttempt, WebhookDelivery, WebhookSecret
from tests.receiver import Receiver, verify

pytestmark = pytest.mark.django_db

PUBLIC_URL = "http://93.184.215.14/hook"  # a public address, written as an IP: nothing is resolved or contacted


def create(api, **data):
    return api.post("/api/v1/generations/", {"text": "Привет!", "language": "ru", **data}, format="json")


@pytest.fixture
def fast_webhooks(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    settings.WEBHOOK_BACKOFF_SECONDS = 0.2
    settings.WEBHOOK_TIMEOUT = 2
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    return settings


def run_due_attempts(delivery_id, until_attempts, timeout=10):
    """What the workers' watchdog and tasks do: hand out due attempts and run them, here in-process."""
    deadline = time.monotonic() + timeout
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    while delivery.attempts < until_attempts and delivery.state == DeliveryState.PENDING:
        assert time.monotonic() < deadline, "attempts did not come due"
        if webhooks.enqueue_due():
            webhooks.deliver(delivery.pk, delivery.attempts + 1)
        time.sleep(0.05)
        delivery.refresh_from_db()
    return delivery


def test_receiver_that_fails_twice_gets_three_signed_attempts(api, user, avatar, fast_webhooks,
                                                              django_capture_on_commit_callbacks, client):
    with Receiver([500, 503, 204]) as receiver:
        response = create(api, callback_url=receiver.url())
        assert response.status_code == 202, response.content
        pk = response.json()["id"]
        assert response.json()["callback_url"] == receiver.url()
        with django_capture_on_commit_callbacks(execute=True):
            assert api.post(f"/api/v1/generations/{pk}/cancel/").status_code == 200
        delivery = WebhookDelivery.objects.get(request_id=pk)
        assert webhooks.deliver(delivery.pk, 1).endswith("pending")
        assert webhooks.deliver(delivery.pk, 1).endswith("not due")  # a duplicate task posts nothing
        delivery = run_due_attempts(delivery.pk, 3)
        assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 3
        assert len(receiver.hits) == 3

    secret = api.get("/api/v1/me/").json()["webhook_secret"]
    assert all(verify(hit, secret) for hit in receiver.hits)
    assert not verify(receiver.hits[0], secret + "x")
    assert len({hit["body"] for hit in receiver.hits}) == 1  # the same bytes every time, freshly timestamped
    body = json.loads(receiver.hits[0]["body"])
    assert body == {"id": pk, "status": "cancelled", "error": "Cancelled by the user.", "error_code": "cancelled",
                    "video": None, "duration": None,
                    "timings": {k: None for k in ("tts", "audio", "face", "lipsync", "encode", "total", "queue")}}
    assert [h["headers"]["X-Avatar-Attempt"] for h in receiver.hits] == ["1", "2", "3"]
    attempts = list(WebhookAttempt.objects.filter(request_id=pk).order_by("number"))
    assert [(a.number, a.status_code, a.error) for a in attempts] == [(1, 500, "HTTP 500"), (2, 503, "HTTP 503"),
                                                                      (3, 204, "")]
    gap = (attempts[2].sent_at - attempts[1].sent_at).total_seconds()
    assert gap >= 0.4 - 0.05  # backoff doubled: 0.2 s after the first failure, 0.4 s after the second

    client.force_login(get_user_model().objects.create_superuser("root", password="root-password-1"))
    listing = client.get("/admin/generation/webhookattempt/")
    assert listing.status_code == 200
    text = listing.content.decode()
    assert all(code in text for code in ("500", "503", "204")) and "HTTP 503" in text
    page = client.get(f"/admin/generation/generationrequest/{pk}/change/").content.decode()
    assert "HTTP 500" in page and receiver.url() in page
    assert client.get("/admin/generation/webhookdelivery/").status_code == 200


def test_unreachable_receiver_gives_up_after_the_last_attempt(api, avatar, fast_webhooks,
                                                              django_capture_on_commit_callbacks):
    fast_webhooks.WEBHOOK_MAX_ATTEMPTS = 2
    with Receiver() as receiver:
        dead_url = receiver.url()
    pk = create(api, callback_url=dead_url).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/v1/generations/{pk}/cancel/")
    delivery = WebhookDelivery.objects.get(request_id=pk)
    webhooks.deliver(delivery.pk, 1)
    delivery = run_due_attempts(delivery.pk, 2)
    assert delivery.state == DeliveryState.FAILED and delivery.next_attempt_at is None
    assert [a.status_code for a in WebhookAttempt.objects.filter(request_id=pk)] == [None, None]
    assert "could not connect" in WebhookAttempt.objects.filter(request_id=pk).first().error
    assert webhooks.enqueue_due() == 0


def test_done_payload_names_the_api_video_url(user, avatar, settings):
    from django.core.files.base import ContentFile

    from generation.models import Status, Video

    settings.SITE_URL = "https://avatar.example.com"
    request = GenerationRequest.objects.create(owner=user, avatar=avatar, text="hi", language="en",
                                               status=Status.DONE, callback_url=PUBLIC_URL, total_seconds=1.5)
    Video.objects.create(request=request, file=ContentFile(b"x", name="v.mp4"), duration=2.4, fps=25, width=2,
                         height=2, size=1)
    delivery = webhooks.notify_finished(request.pk)
    body = json.loads(delivery.body)
    assert body["video"] == f"https://avatar.example.com/api/v1/generations/{request.pk}/video"
    assert body["duration"] == 2.4 and body["timings"]["total"] == 1.5 and body["status"] == "done"
    assert webhooks.notify_finished(request.pk) is None  # one notification per request


REFUSED = [
    "http://127.0.0.1/hook", "http://127.1.2.3:8080/", "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://localhost:8000/", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:169.254.169.254]/", "http://[fe80::1]/", "http://[fc00::1]/",
    "http://224.0.0.1/", "http://100.64.0.1/", "http://240.0.0.1/", "http://2130706433/", "http://0x7f000001/",
    "http://017700000001/", "http://0x7f.1/", "http://[::]/", "http://[2002:7f00:1::1]/", "http://[64:ff9b::a00:1]/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_loopback_addresses_are_refused_in_every_spelling(url):
    with pytest.raises(netguard.UnsafeURL) as info:
        netguard.check_url(url)
    assert info.value.code == "refused"


@pytest.mark.parametrize("url", ["http://127.0.0.1/hook", "http://10.1.2.3/", "http://169.254.169.254/latest/",
                                 "http://[::1]/", "http://localhost:8000/", "http://[::ffff:127.0.0.1]/",
                                 "http://2130706433/", "ftp://93.184.215.14/", "file:///etc/passwd",
                                 "http://user:pw@93.184.215.14/", "https://" + "a" * 2000 + ".com/"])
def test_api_refuses_callback_urls_it_must_not_call(api, avatar, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = create(api, callback_url=url)
    assert response.status_code == 400, response.content
    message = " ".join(response.json()["callback_url"])
    assert "/etc" not in message and "Errno" not in message
    assert not GenerationRequest.objects.exists()


@pytest.mark.parametrize("url", ["http://93.184.215.14:0/", "http://[::1/", "http:///path"])
def test_malformed_urls_are_refused(url):
    with pytest.raises(netguard.UnsafeURL) as info:
        netguard.check_url(url, allow_private=True)
    assert info.value.code == "malformed"


def test_api_accepts_a_public_callback_url(api, avatar, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = create(api, callback_url=PUBLIC_URL)
    assert response.status_code == 202, response.content
    assert GenerationRequest.objects.get().callback_url == PUBLIC_URL


def test_delivery_checks_the_address_again(user, settings):
    """A URL that was fine once (or DNS that changed its answer) is refused at delivery: nothing is sent."""
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with Receiver() as receiver:
        request = GenerationRequest.objects.create(owner=user, text="hi", language="en", status="cancelled",
                                                   callback_url=receiver.url(host="localhost"))
        delivery = webhooks.notify_finished(request.pk)
        webhooks.deliver(delivery.pk, 1)
        assert receiver.hits == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and attempt.error.startswith("refused")


def test_the_connection_goes_to_the_checked_address_with_the_names_host_header():
    """Pinned: no second DNS lookup at connect time (a name that resolves nowhere still reaches the checked IP)."""
    with Receiver() as receiver:
        target = netguard.Target(url=f"http://rebind.invalid:{receiver.port}/x?a=1", scheme="http",
                                 host="rebind.invalid", port=receiver.port, ip="127.0.0.1")
        assert netguard.post_pinned(target, b"{}", {}, 2, 2) == 200
        hit = receiver.hits[0]
    assert hit["headers"]["Host"] == f"rebind.invalid:{receiver.port}" and hit["path"] == "/x?a=1"


def test_redirects_are_not_followed(user, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with Receiver([302]) as receiver:
        request = GenerationRequest.objects.create(owner=user, text="hi", language="en", status="failed",
                                                   callback_url=receiver.url())
        webhooks.deliver(webhooks.notify_finished(request.pk).pk, 1)
        assert len(receiver.hits) == 1
    assert WebhookAttempt.objects.get().status_code == 302  # a failure: retried later, never followed


def test_me_shows_and_rotates_the_secret(api, user, client):
    client.force_login(user)
    assert 'id="webhook-secret"' not in client.get("/account/token/").content.decode()  # none shown, none made
    me = api.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "alice" and me.json()["webhook_secret"] is None  # a GET makes nothing
    assert not WebhookSecret.objects.filter(user=user).exists()
    first = api.post("/api/v1/me/webhook-secret/").json()
    assert first["webhook_secret"].startswith("whsec_")
    assert api.get("/api/v1/me/").json() == first
    rotated = api.post("/api/v1/me/webhook-secret/")
    assert rotated.status_code == 200 and rotated.json()["webhook_secret"] != first["webhook_secret"]
    assert api.get("/api/v1/me/").json()["webhook_secret"] == rotated.json()["webhook_secret"]

    page = client.get("/account/token/").content.decode()
    assert rotated.json()["webhook_secret"] in page
    client.post("/account/token/", {"action": "rotate-webhook-secret"})
    assert webhooks.secret_for(user) != rotated.json()["webhook_secret"]


def test_me_needs_credentials(client):
    from rest_framework.test import APIClient

    anonymous = APIClient()
    assert anonymous.get("/api/v1/me/").status_code in (401, 403)
    assert anonymous.post("/api/v1/me/webhook-secret/").status_code in (401, 403)


def test_secrets_are_per_user(user, other_user):
    assert webhooks.ensure_secret(user) != webhooks.ensure_secret(other_user)
    timestamp, body = "1700000000", b'{"id":1}'
    assert webhooks.sign(webhooks.secret_for(user), timestamp, body) != webhooks.sign(
        webhooks.secret_for(other_user), timestamp, body)


def test_a_request_with_a_callback_makes_the_secret_it_is_signed_with(api, user, avatar):
    assert webhooks.secret_for(user) is None
    assert create(api, callback_url="https://example.com/hook").status_code == 202
    assert api.get("/api/v1/me/").json()["webhook_secret"] == webhooks.secret_for(user) != None  # noqa: E711


def test_old_expired_lease_is_handed_out_again(user, settings):
    """An attempt whose task was lost (worker died before running it) comes back once its lease runs out."""
    request = GenerationRequest.objects.create(owner=user, text="hi", language="en", status="failed",
                                               callback_url=PUBLIC_URL)
    delivery = webhooks.notify_finished(request.pk)
    assert webhooks.enqueue_due() == 0  # leased to the first task
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert webhooks.enqueue_due() == 1 and webhooks.enqueue_due() == 0


def test_every_way_to_finish_announces_it(user, settings):
    """done (jobs.record_done), failed (jobs.mark_failed), lost worker (recovery) and cancel each queue a delivery."""
    from generation.web import services
    from generation.worker import jobs, recovery
    from generation.models import Status

    settings.JOB_STALE_SECONDS = 30
    stale = timezone.now() - timedelta(minutes=5)
    failing = GenerationRequest.objects.create(owner=user, text="a", language="en", status=Status.RUNNING,
                                               attempts=1, callback_url=PUBLIC_URL)
    assert jobs.mark_failed(failing, "tts_failed", "detail for staff")
    lost = GenerationRequest.objects.create(owner=user, text="b", language="en", status=Status.RUNNING,
                                            attempts=recovery.MAX_ATTEMPTS, heartbeat_at=stale, started_at=stale,
                                            callback_url=PUBLIC_URL)
    recovery.recover_lost_jobs()
    cancelled = GenerationRequest.objects.create(owner=user, text="c", language="en", callback_url=PUBLIC_URL)
    services.cancel_generation(cancelled)
    silent = GenerationRequest.objects.create(owner=user, text="d", language="en")  # no callback_url
    services.cancel_generation(silent)
    bodies = {d.request_id: json.loads(d.body) for d in WebhookDelivery.objects.all()}
    assert set(bodies) == {failing.pk, lost.pk, cancelled.pk}
    assert bodies[failing.pk]["status"] == "failed" and bodies[failing.pk]["error_code"] == "tts_failed"
    assert "detail for staff" not in WebhookDelivery.objects.get(request=failing).body
    assert bodies[lost.pk]["error_code"] == "worker_lost" and bodies[cancelled.pk]["status"] == "cancelled"


@pytest.fixture
def tls_receiver(tmp_path):
    """A receiver on 127.0.0.1 speaking TLS with a certificate for hook.test only (its own CA)."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hook.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("hook.test")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    with Receiver() as receiver:
        receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
        yield receiver, str(cert_path)


def test_https_goes_to_the_checked_ip_but_verifies_the_names_certificate(tls_receiver):
    import requests

    receiver, ca = tls_receiver

    def target(host):
        return netguard.Target(url=f"https://{host}:{receiver.port}/tls", scheme="https", host=host,
                               port=receiver.port, ip="127.0.0.1")

    assert netguard.post_pinned(target("hook.test"), b"{}", {}, 2, 2, verify=ca) == 200
    assert receiver.hits[0]["headers"]["Host"] == f"hook.test:{receiver.port}"
    with pytest.raises(requests.exceptions.SSLError):  # same address, another name: the certificate does not fit
        netguard.post_pinned(target("other.test"), b"{}", {}, 2, 2, verify=ca)
    assert len(receiver.hits) == 1

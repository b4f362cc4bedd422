"""Password guessing: the login page and the token endpoint lock out repeated failures, per username and
per client address, in counters every web process shares (the database), and lift after the window."""
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

RIGHT = "alice-password-1"


@pytest.fixture(autouse=True)
def small_limits(settings, monkeypatch):
    settings.LOGIN_FAILURES_PER_USERNAME = 4
    settings.LOGIN_FAILURES_PER_ADDRESS = 6
    from rest_framework.throttling import SimpleRateThrottle

    # the token endpoint's own rate limit is not what these tests are about
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"generations": "30/min", "login": "1000/min"})


def page_login(client, username, password, **headers):
    return client.post("/accounts/login/", {"username": username, "password": password}, **headers)


def token_login(username, password, **headers):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json",
                            **headers)


def test_page_locks_a_username_after_its_limit_even_for_the_right_password(client, user):
    for _ in range(3):
        assert page_login(client, "alice", "wrong").status_code == 200  # the form again, with its error
    locked = page_login(client, "alice", "wrong")
    assert locked.status_code == 429 and int(locked["Retry-After"]) == 15 * 60
    assert "Слишком много неудачных попыток" in locked.content.decode()  # Russian UI by default
    refused = page_login(client, "alice", RIGHT)
    assert refused.status_code == 429 and "_auth_user_id" not in client.session


def test_lockout_lifts_after_the_window(client, user):
    for _ in range(4):
        page_login(client, "alice", "wrong")
    assert page_login(client, "alice", RIGHT).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    response = page_login(client, "alice", RIGHT)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


def test_token_endpoint_locks_with_429_json(user):
    codes = [token_login("alice", "wrong").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    locked = token_login("alice", RIGHT)
    assert locked.status_code == 429 and "Too many failed logins" in locked.json()["detail"]
    assert "token" not in locked.json()


def test_page_and_api_share_one_count(client, user):
    page_login(client, "alice", "wrong")
    page_login(client, "alice", "wrong")
    token_login("alice", "wrong")
    assert token_login("alice", "wrong").status_code == 429


def test_one_address_trying_many_usernames_is_locked(client, user):
    for i in range(6):
        page_login(client, f"guess{i}", "wrong")
    assert page_login(client, "alice", RIGHT).status_code == 429  # a new username, the same address
    other_address = page_login(client, "alice", RIGHT, REMOTE_ADDR="10.9.8.7")
    assert other_address.status_code == 302  # alice herself, elsewhere, is not locked out


def test_forged_forwarded_for_does_not_give_new_addresses(client, user, settings):
    settings.TRUSTED_PROXIES = 0
    for i in range(6):
        page_login(client, f"guess{i}", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    assert page_login(client, "alice", RIGHT, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429


def test_behind_one_trusted_proxy_the_proxys_entry_counts(client, user, settings):
    settings.TRUSTED_PROXIES = 1
    for i in range(6):  # the client forges a first entry; the proxy appends the real one
        page_login(client, f"guess{i}", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}, 192.0.2.50")
    assert page_login(client, "alice", RIGHT, HTTP_X_FORWARDED_FOR="1.2.3.4, 192.0.2.50").status_code == 429
    assert page_login(client, "alice", RIGHT, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 302

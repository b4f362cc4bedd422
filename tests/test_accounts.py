"""Accounts on Django's own views: password change, reset by e-mail (locmem and file-based backends),
sign-up behind ALLOW_SIGNUP; rate limits and the login lockout apply; a reset never tells who exists."""
import re
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from accounts.mail import wait as mail_sent

pytestmark = pytest.mark.django_db

RIGHT = "alice-password-1"
NEW = "Fresh-Words-4-Alice"
LINK = re.compile(r"https?://[^/\s]+(/accounts/password/reset/[^\s]+/)")


def without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LOGIN_FAILURES_PER_USERNAME = 3
    settings.LOGIN_FAILURES_PER_ADDRESS = 50
    settings.ACCOUNT_RATE = "3/hour"
    settings.SITE_URL = "https://avatars.example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def alice(user):
    user.email = "alice@example.org"
    user.save()
    return user


def test_change_password_logged_in(client, alice):
    from rest_framework.authtoken.models import Token

    Token.objects.create(user=alice)
    assert client.get("/accounts/password/").status_code == 302  # the login page first
    client.force_login(alice)
    page = client.get("/accounts/password/").content.decode()
    assert "Смена пароля" in page and 'autocomplete="current-password"' in page
    wrong = client.post("/accounts/password/", {"old_password": "nope", "new_password1": NEW, "new_password2": NEW})
    assert wrong.status_code == 200 and "Текущий пароль неверен" in wrong.content.decode()
    done = client.post("/accounts/password/", {"old_password": RIGHT, "new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302 and done["Location"] == "/accounts/password/done/"
    alice.refresh_from_db()
    assert alice.check_password(NEW) and client.get("/history/").status_code == 200  # still logged in
    assert not Token.objects.filter(user=alice).exists()  # the API token went with the old password


def test_wrong_old_passwords_count_toward_the_login_lockout(client, alice):
    client.force_login(alice)
    for _ in range(2):
        client.post("/accounts/password/", {"old_password": "nope", "new_password1": NEW, "new_password2": NEW})
    locked = client.post("/accounts/password/", {"old_password": "nope", "new_password1": NEW, "new_password2": NEW})
    assert locked.status_code == 429 and "Retry-After" in locked
    assert 'name="old_password"' in locked.content.decode() and "Слишком много неудачных попыток" in locked.content.decode()
    refused = client.post("/accounts/password/", {"old_password": RIGHT, "new_password1": NEW, "new_password2": NEW})
    assert refused.status_code == 429
    alice.refresh_from_db()
    assert alice.check_password(RIGHT)


def test_reset_by_email_in_the_interface_language(client, alice):
    login = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password/reset/"' in login and "/accounts/signup/" not in login  # sign-up is off
    client.post("/i18n/setlang/", {"language": "kk", "next": "/"})
    sent = client.post("/accounts/password/reset/", {"email": "ALICE@example.org"})
    assert sent.status_code == 302 and sent["Location"] == "/accounts/password/reset/sent/"
    mail_sent()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.org"] and message.subject == "Talking Avatar үшін жаңа құпиясөз"
    assert "Сәлеметсіз бе, alice!" in message.body and "https://avatars.example.org/accounts/" in message.body
    path = LINK.search(message.body).group(1)
    form = client.get(path, follow=True)
    assert form.status_code == 200 and "Жаңа құпиясөз" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302 and done["Location"] == "/accounts/password/reset/complete/"
    alice.refresh_from_db()
    assert alice.check_password(NEW)
    again = client.get(path, follow=True)  # a link works once
    assert "new_password1" not in again.content.decode()


def test_reset_tells_nobody_whether_an_address_exists(client, alice):
    known = client.post("/accounts/password/reset/", {"email": "alice@example.org"})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.org"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    mail_sent()
    assert len(mail.outbox) == 1
    assert without_csrf(client.get(known["Location"])) == without_csrf(client.get(unknown["Location"]))


def test_reset_requests_are_limited_per_address_and_per_mailbox(client, alice):
    for i in range(3):
        client.post("/accounts/password/reset/", {"email": "alice@example.org"}, REMOTE_ADDR=f"10.0.0.{i}")
    fourth = client.post("/accounts/password/reset/", {"email": "alice@example.org"}, REMOTE_ADDR="10.0.0.9")
    mail_sent()
    assert fourth.status_code == 302 and len(mail.outbox) == 3  # the same answer, but no fourth mail
    for _ in range(2):
        client.post("/accounts/password/reset/", {"email": "x@example.org"}, REMOTE_ADDR="10.0.0.9")
    limited = client.post("/accounts/password/reset/", {"email": "y@example.org"}, REMOTE_ADDR="10.0.0.9")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert "Слишком много попыток" in limited.content.decode()


def test_reset_mail_through_the_file_based_backend(client, alice, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    settings.DEFAULT_FROM_EMAIL = "avatars@example.org"
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    client.post("/accounts/password/reset/", {"email": "alice@example.org"})
    mail_sent()
    [written] = list((tmp_path / "mail").iterdir())
    text = written.read_text()
    assert "From: avatars@example.org" in text and "To: alice@example.org" in text
    assert "Subject: Your new password for Talking Avatar" in text and LINK.search(text)


class HeldBackend(EmailBackend):
    """A mail server that answers only when the test lets it."""

    release = threading.Event()

    def send_messages(self, messages):
        assert self.release.wait(10)
        return super().send_messages(messages)


def test_the_answer_does_not_wait_for_the_mail_server(client, alice, settings):
    settings.EMAIL_BACKEND = "tests.test_accounts.HeldBackend"
    HeldBackend.release.clear()
    answer = client.post("/accounts/password/reset/", {"email": "alice@example.org"})
    assert answer.status_code == 302 and mail.outbox == []  # answered while the server still holds the mail
    HeldBackend.release.set()
    mail_sent()
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]


def test_signup_is_a_404_unless_allowed(client, settings):
    assert client.get("/accounts/signup/").status_code == 404
    settings.ALLOW_SIGNUP = True
    assert client.get("/accounts/signup/").status_code == 200
    assert 'href="/accounts/signup/"' in client.get("/accounts/login/").content.decode()


def test_signup_makes_a_logged_in_user_and_refuses_bad_input(client, settings, user):
    settings.ALLOW_SIGNUP = True
    taken = client.post("/accounts/signup/", {"username": "ALICE", "email": "a@example.org",
                                               "password1": NEW, "password2": NEW})
    assert taken.status_code == 400 and "Это имя пользователя занято" in taken.content.decode()
    weak = client.post("/accounts/signup/", {"username": "carol", "email": "c@example.org",
                                              "password1": "12345678", "password2": "12345678"})
    assert weak.status_code == 400 and "слишком распространён" in weak.content.decode()
    made = client.post("/accounts/signup/", {"username": "carol", "email": "c@example.org",
                                              "password1": NEW, "password2": NEW})
    assert made.status_code == 302 and made["Location"] == "/"
    carol = get_user_model().objects.get(username="carol")
    assert carol.email == "c@example.org" and not carol.is_staff
    assert client.session["_auth_user_id"] == str(carol.pk)


def test_signup_is_rate_limited_and_locked_out_like_login(client, settings, user):
    settings.ALLOW_SIGNUP = True
    for i in range(3):
        client.post("/accounts/signup/", {"username": f"u{i}", "email": "", "password1": "x", "password2": "y"})
    limited = client.post("/accounts/signup/", {"username": "dave", "email": "d@example.org",
                                                 "password1": NEW, "password2": NEW})
    assert limited.status_code == 429 and not get_user_model().objects.filter(username="dave").exists()
    settings.LOGIN_FAILURES_PER_ADDRESS = 2
    for _ in range(2):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR="10.1.1.1")
    locked = client.get("/accounts/signup/", REMOTE_ADDR="10.1.1.1")
    assert locked.status_code == 429 and "Слишком много неудачных попыток" in locked.content.decode()
    assert 'action="/accounts/login/"' in locked.content.decode()  # the login form there posts to the login


def test_the_menu_links_to_the_password_page(client, user):
    client.force_login(user)
    assert 'href="/accounts/password/"' in client.get("/history/").content.decode()


def test_kazakh_signup_errors_are_kazakh(client, settings):
    settings.ALLOW_SIGNUP = True
    client.post("/i18n/setlang/", {"language": "kk", "next": "/"})
    page = client.post("/accounts/signup/", {"username": "bad name!", "email": "nope",
                                              "password1": "123", "password2": "124"}).content.decode()
    for kazakh in ("Дұрыс пайдаланушы атын енгізіңіз", "Дұрыс электрондық пошта мекенжайын енгізіңіз",
                   "Құпиясөздер сәйкес келмейді"):
        assert kazakh in page

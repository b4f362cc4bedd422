"""schemathesis holds the API to its OpenAPI schema with every check, in-process through WSGI.

What `schemathesis run <server>/api/v1/schema/ --checks all` does against a live server: schema-valid
requests must be accepted (2xx, or 401/403/404/409/429 by their documented meaning), schema-invalid
ones refused with a 4xx, every status documented and every body as documented, deleted resources
gone, and no 5xx (bar the documented 504 of the synchronous endpoint, see schemathesis.toml).
"""
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

import tests.schemathesis_hooks  # noqa: F401  (real media for positive uploads, a key per body)

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())

EXAMPLES = 12  # per operation and phase; the whole module stays under about a minute on 2 cores


@pytest.fixture(autouse=True)
def keep_test_connection():
    """As Django's test client does: the WSGI handler must not close the test transaction's connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def auth_header(db, user, avatar, monkeypatch, settings):
    from rest_framework.authtoken.models import Token
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"generations": "10000/min", "login": "10000/min",
                                                               "avatar_uploads": "10000/min"})
    settings.DEBUG = False  # the API's own JSON 404 for unmatched URLs, as in production
    settings.SYNC_GENERATE_TIMEOUT = 0  # no worker here: the synchronous endpoint answers its documented 504
    settings.MAX_ACTIVE_PER_USER = 10_000
    settings.MAX_PREPARING_PER_USER = 10_000
    # Which hosts are public is beyond any schema; the refusals have their own tests (tests/test_webhooks.py).
    settings.WEBHOOK_ALLOW_PRIVATE = True
    # How long a text takes to say is beyond any schema too (1000 digits are minutes): tests/test_speech_limit.py.
    settings.MAX_SPEECH_SECONDS = 0
    token, _ = Token.objects.get_or_create(user=user)
    return {"Authorization": f"Token {token.key}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_api_keeps_its_schema(case, auth_header):
    case.call_and_validate(headers=auth_header)

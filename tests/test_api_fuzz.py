"""schemathesis walks our OpenAPI schema with an authenticated client: no input may cause a 5xx."""
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
# The synchronous endpoint waits for a worker (none runs here) and answers 504 by contract;
# the worker tests cover it.
schema = schema.exclude(path="/api/generate")


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
def auth_header(db, user, avatar, monkeypatch):
    from rest_framework.authtoken.models import Token
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"generations": "10000/min", "login": "10000/min"})
    token, _ = Token.objects.get_or_create(user=user)
    return {"Authorization": f"Token {token.key}"}


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_no_server_errors(case, auth_header):
    response = case.call(headers=auth_header)
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:500])

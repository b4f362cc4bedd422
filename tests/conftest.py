import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path_factory):
    """Every test writes uploads and videos into its own temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def fresh_throttles(request):
    """Throttle counters live in the cache (a database table, or Redis): every test starts with none."""
    names = request.fixturenames
    if request.node.get_closest_marker("django_db") is None:
        if "db" not in names and "transactional_db" not in names:
            yield  # no database for this test, so no cache table either
            return
        request.getfixturevalue("transactional_db" if "transactional_db" in names else "db")
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def empty_broker_queue(settings):
    """A Redis queue outlives the test's transaction: every test starts and ends with it empty."""
    if not settings.REDIS_URL:
        yield
        return
    from tests import broker

    broker.purge()
    yield
    broker.purge()


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("alice", password="alice-password-1")


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user("bob", password="bob-password-1")


def _api(user):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api(user):
    return _api(user)


@pytest.fixture
def other_api(other_user):
    return _api(other_user)


@pytest.fixture(scope="session")
def demo_png():
    """The demo avatar photo as PNG bytes (real photo, real dlib analysis later)."""
    import cv2

    from generation.pipeline.images import demo_avatar_image

    ok, png = cv2.imencode(".png", cv2.cvtColor(demo_avatar_image(), cv2.COLOR_RGB2BGR))
    assert ok
    return png.tobytes()


@pytest.fixture
def avatar(db, media_root):
    from avatars.worker.demo import create_demo_avatar

    return create_demo_avatar()


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    """STATIC_ROOT after `collectstatic`, for tests that run the site as production does."""
    from tests.server import collect_static

    root = tmp_path_factory.mktemp("static")
    collect_static(root)
    return root


@pytest.fixture
def cluster(media_root, tmp_path):
    """A real `manage.py qcluster` on the test database, stopped after the test."""
    from tests.worker import Cluster

    running = Cluster(media_root, tmp_path / "qcluster.log").start()
    yield running
    running.stop()

"""The web process never loads the worker's heavy stack: a web-only machine installs without it."""
import json
import os
import subprocess
import sys

from django.conf import settings

WORKER_ONLY = ("torch", "cv2", "dlib", "onnxruntime", "piper", "espeakng_loader")

# Start the WSGI app as gunicorn does, then touch every route's view and the admin, API schema and
# translations, so lazily imported view modules are loaded too.
PROBE = """
import json, sys
from avatarsite.wsgi import application
from django.test import Client
from django.urls import get_resolver
def walk(patterns):
    for p in patterns:
        if hasattr(p, "url_patterns"):
            walk(p.url_patterns)
        else:
            p.callback
walk(get_resolver().url_patterns)
client = Client()
for path in ("/", "/login/", "/api/v1/schema/", "/api/v1/docs/", "/admin/login/"):
    client.get(path)
from generation import voices, validation
from generation.pipeline import audio, video_check
assert voices.voices("en")  # every configured backend lists its voices without loading a model
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in %r)))
"""


def test_web_process_does_not_import_the_worker_stack():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "avatarsite.settings_test", "DEBUG": "1"}
    env.pop("PYTEST_CURRENT_TEST", None)
    out = subprocess.run([sys.executable, "-c", PROBE % (WORKER_ONLY,)], cwd=settings.BASE_DIR, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], f"the web process imported {loaded}"


def test_without_a_bucket_boto3_is_never_imported():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "avatarsite.settings_test", "DEBUG": "1"}
    env.pop("PYTEST_CURRENT_TEST", None)
    env.pop("S3_BUCKET", None)
    out = subprocess.run([sys.executable, "-c", PROBE % (("boto3", "botocore", "s3transfer", "storages"),)],
                         cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []

"""The web process never loads the worker's heavy stack: a web-only machine installs without it."""
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.worker import database_url

WORKER_ONLY = ("torch", "cv2", "dlib", "onnxruntime", "piper", "espeakng_loader")
BUCKET_ONLY = ("boto3", "botocore", "s3transfer", "storages")  # loaded only when S3_BUCKET is set

# Start the WSGI app as gunicorn does, then touch every route's view and the admin, API schema and
# translations, so lazily imported view modules are loaded too; then, logged in, render every page
# and send what a user sends (a recording, an avatar photo), so validation's imports count as well.
PROBE = """
import io, json, sys, wave
from avatarsite.wsgi import application
from django.contrib.auth import get_user_model
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
for path in ("/", "/accounts/login/", "/api/v1/schema/", "/api/v1/docs/", "/admin/login/"):
    assert client.get(path).status_code in (200, 302), path
from generation.shared import voices
from generation.web import validation
from generation.pipeline import audio, video_check  # what a video avatar upload is checked with
assert voices.voices("en")  # every configured backend lists its voices without loading a model
client.force_login(get_user_model().objects.get(username=%(user)r))
for path in ("/", "/history/", "/avatars/", "/account/token/", "/api/v1/avatars/", "/api/v1/voices/"):
    assert client.get(path).status_code == 200, path
wav = io.BytesIO()
with wave.open(wav, "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
    w.writeframes(bytes(b %% 251 for b in range(32000)))
wav.seek(0); wav.name = "voice.wav"
answer = client.post("/", {"language": "en", "audio": wav})
assert answer.status_code in (200, 302), answer.status_code  # checked by the web process's ffmpeg probe
photo = open(%(photo)r, "rb")
answer = client.post("/api/v1/avatars/", {"name": "Me", "file": photo})
assert answer.status_code == 202, answer.content  # checked with Pillow; the face is found in the worker
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in %(heavy)r)))
"""


@pytest.mark.django_db(transaction=True)  # the probe is another process: it must see the committed user
def test_web_process_does_not_import_the_worker_stack(user, avatar, demo_png, media_root, tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "avatarsite.settings_test", "DEBUG": "1",
           "DATABASE_URL": database_url(), "ALLOWED_HOSTS": "testserver", "MEDIA_ROOT": str(media_root), "GENERATION_RATE": "1000/min"}
    env.pop("PYTEST_CURRENT_TEST", None)
    env.pop("S3_BUCKET", None)
    photo = tmp_path / "me.png"
    photo.write_bytes(demo_png)
    probe = PROBE % {"user": user.username, "photo": str(photo), "heavy": WORKER_ONLY + BUCKET_ONLY}
    out = subprocess.run([sys.executable, "-c", probe], cwd=settings.BASE_DIR, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], f"the web process imported {loaded}"


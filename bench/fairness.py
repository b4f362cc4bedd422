"""Fair scheduling: alice's one-second request alone, and behind bob's backlog, on one real worker.

Bob queues 5 long videos and uploads 5 costly clips (the 3 over MAX_PREPARING_PER_USER are refused
with 429); once his first video is running, alice asks for a one-second one. Her wait (submitted →
done, the server's timestamps) is printed alone, with bob's load in submission order
(SCHEDULING=fifo, the old behaviour) and with the per-user round robin (SCHEDULING=fair), same run,
each on a fresh `manage.py qcluster` with one worker, on a throw-away SQLite database. Target: ≤ 15 s.

    .venv/bin/python bench/fairness.py [--long-chars 260] [--clip-seconds 12]

A truly hostile clip (10 000 frames/s claimed) is refused by the decode limits before it costs
minutes; the clips here are costly but acceptable: a real face to track at 640x360.
"""
import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="fairness-"))
os.environ.update(DEBUG="1", SECRET_KEY="bench-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789",
                  DATABASE_URL=f"sqlite:///{WORK / 'db.sqlite3'}", MEDIA_ROOT=str(WORK / "media"),
                  DJANGO_SETTINGS_MODULE="avatarsite.settings", GENERATION_RATE="1000/min",
                  AVATAR_UPLOAD_RATE="1000/hour", ALLOWED_HOSTS="testserver")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from avatars.web import services as avatar_services  # noqa: E402
from avatars.models import Avatar, AvatarStatus  # noqa: E402
from generation.web import services  # noqa: E402
from generation.models import GenerationRequest, Status  # noqa: E402
from tests.worker import Cluster, finished, wait_for  # noqa: E402

TARGET_SECONDS = 15.0
LONG_JOBS, CLIPS = 5, 5
ALICE_TEXTS = {"alone": "Hello, Bob.", "fifo": "Hi there, Bob.", "fair": "Good day, Bob."}  # about a second each
TIMEOUT = 900


def client_for(name: str) -> APIClient:
    user = get_user_model().objects.get_or_create(username=name)[0]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def post(client, text: str) -> int:
    response = client.post("/api/v1/generations/", {"text": text, "language": "en"}, format="json")
    assert response.status_code == 202, response.json()
    return response.json()["id"]


def wait_done(pk: int) -> GenerationRequest:
    request = wait_for(lambda: finished(pk), TIMEOUT, interval=0.2, message=f"request #{pk}")
    assert request.status == Status.DONE, request.error_detail
    return request


def clear_bob() -> None:
    """Cancel bob's videos and delete his clips (a running preparation stops), then wait until the worker is idle."""
    for request in GenerationRequest.objects.filter(owner__username="bob").unfinished():
        services.cancel_generation(request)
    for avatar in Avatar.objects.filter(owner__username="bob"):
        avatar_services.delete_avatar(avatar)
    wait_for(lambda: not GenerationRequest.objects.filter(status=Status.RUNNING).exists(), TIMEOUT, message="idle")
    time.sleep(3)  # a stopped preparation notices within a heartbeat


def scenario(label: str, mode: str, loaded: bool, long_text: str, clip: bytes, log: Path) -> dict:
    cluster = Cluster(WORK / "media", log, SCHEDULING=mode, Q_WORKERS=1).start()
    try:
        # models loaded, as in a running service (every text differs: an identical one would be reused, not made)
        wait_done(post(client_for("carol"), f"Warming up for {label}."))
        accepted, first = 0, None
        if loaded:
            bob = client_for("bob")
            first = post(bob, f"{long_text} Take one of {mode}.")
            for i in range(LONG_JOBS - 1):
                post(bob, f"{long_text} Take {i + 2} of {mode}.")
            for i in range(CLIPS):
                answer = bob.post("/api/v1/avatars/", {"name": f"clip {i}", "file": SimpleUploadedFile("c.mp4", clip)},
                                  format="multipart")
                accepted += answer.status_code == 202
            wait_for(lambda: GenerationRequest.objects.filter(pk=first, status=Status.RUNNING).exists(), TIMEOUT,
                     message="bob's first video to start")
        alice = wait_done(post(client_for("alice"), ALICE_TEXTS[label]))
        bob_job = GenerationRequest.objects.filter(pk=first).first()
        result = {"wait": (alice.finished_at - alice.created_at).total_seconds(), "own": alice.total_seconds,
                  "queue": alice.queue_seconds, "clips": accepted,
                  "bob_first": bob_job.total_seconds if bob_job and bob_job.total_seconds else None}
        if loaded:
            clear_bob()
        return result
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--long-chars", type=int, default=260, help="length of each of bob's texts")
    parser.add_argument("--clip-seconds", type=float, default=12.0, help="length of each of bob's clips")
    args = parser.parse_args()

    from avatars.worker.demo import create_demo_avatar
    from tests import media

    logging.getLogger("django-q").setLevel(logging.WARNING)  # not a line per queued task
    call_command("migrate", verbosity=0)
    create_demo_avatar()
    words = "Bob keeps talking about the weather, the traffic and the football, at length. "
    long_text = (words * (args.long_chars // len(words) + 1))[:args.long_chars].strip()
    clip = media.moving_face(args.clip_seconds, size=(640, 360), seed=5).data
    print(f"work dir {WORK}; bob: {LONG_JOBS} videos of {len(long_text)} characters, {CLIPS} clips of "
          f"{args.clip_seconds:.0f} s at 640x360 ({len(clip) / 1e6:.1f} MB); one worker")
    rows = [("alone", "fair", False), ("bob's load, fifo (before)", "fifo", True),
            ("bob's load, fair (after)", "fair", True)]
    results = {}
    for label, mode, loaded in rows:
        key = mode if loaded else "alone"
        results[label] = scenario(key, mode, loaded, long_text, clip, WORK / f"qcluster-{key}.log")
        r = results[label]
        extra = (f"; {r['clips']}/{CLIPS} clips accepted; bob's running video took {r['bob_first']:.1f} s"
                 if loaded and r["bob_first"] else "")
        print(f"{label:28} alice waited {r['wait']:6.1f} s (queue {r['queue']:5.1f} s, her own job "
              f"{r['own']:4.1f} s){extra}", flush=True)
    before, after = results[rows[1][0]]["wait"], results[rows[2][0]]["wait"]
    alone = results[rows[0][0]]["wait"]
    print(f"fair vs fifo: {before:.1f} s → {after:.1f} s ({before / after:.1f}x less); vs alone {after / alone:.1f}x; "
          f"target ≤ {TARGET_SECONDS:.0f} s: {'met' if after <= TARGET_SECONDS else 'missed'}")


if __name__ == "__main__":
    main()

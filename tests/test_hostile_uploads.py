"""Hostile recordings against the running product: gunicorn (DEBUG off) takes the upload, a real
django-q2 worker renders it.

1. An HLS playlist followed by AAC frames, listing bob's stored recording by relative path, absolute
   path and file:// URL, uploaded by alice as .m3u8, .mp3 and with no extension: refused, or a video
   whose sound is only the carrier (its length, its tone), never bob's recording, never past the limit.
5. A FLAC of 8 channels at 655 kHz: refused at validation, before any decoding.
The same script uploaded as `x.html` inside a valid WAV is stored and served as audio only.
"""
import subprocess
import time

import numpy as np
import pytest
import requests
from rest_framework.authtoken.models import Token

from generation.models import GenerationRequest, Status
from generation.pipeline import ffmpeg
from generation.pipeline.audio import LEAD_IN_SECONDS, TAIL_SECONDS
from generation.pipeline.types import SAMPLE_RATE
from tests.server import Gunicorn
from tests.worker import Cluster, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]

CARRIER_HZ, CARRIER_SECONDS = 440.0, 3.0
SECRET_HZ, SECRET_SECONDS = 2500.0, 15.0
LIMIT_SECONDS = 20  # below what the playlist would add up to if it were followed
JOB_SECONDS = 240
HELD_AT_MOST_SECONDS = 5.0  # the probe refuses it from its header; generous for a loaded 2-core machine


def run(args, data: bytes = b"") -> bytes:
    return subprocess.run([ffmpeg.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *args], input=data,
                          capture_output=True, check=True).stdout


def sine(hz: float, seconds: float, rate: int = 16000) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency={hz}:duration={seconds}:sample_rate={rate}"]


def tone_share(samples: np.ndarray, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    return float(spectrum[np.abs(freqs - hz) < 20].sum() / spectrum.sum())


@pytest.fixture
def site(media_root, collected_static, tmp_path):
    server = Gunicorn(media_root, collected_static, tmp_path / "gunicorn.log", MAX_AUDIO_SECONDS=LIMIT_SECONDS,
                      GENERATION_RATE="1000/min").start()
    yield server
    server.stop()


@pytest.fixture
def cluster(media_root, tmp_path):
    running = Cluster(media_root, tmp_path / "qcluster.log", MAX_AUDIO_SECONDS=LIMIT_SECONDS).start()
    yield running
    running.stop()


def upload(site, user, name: str, data: bytes):
    headers = {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}", **site.https}
    return requests.post(site.url + "/api/v1/generations/", data={"language": "en"}, files={"audio": (name, data)},
                         headers=headers, timeout=60)


def test_playlist_polyglot_never_reads_another_users_file(site, cluster, user, other_user, avatar, media_root):
    secret = run([*sine(SECRET_HZ, SECRET_SECONDS), "-c:a", "aac", "-f", "adts", "pipe:1"])
    bobs = upload(site, other_user, "bob.aac", secret)
    assert bobs.status_code == 202, bobs.text
    stored = GenerationRequest.objects.get(pk=bobs.json()["id"]).audio.name
    target = media_root / stored
    entries = "".join(f"#EXTINF:{SECRET_SECONDS:.1f},\n{ref}\n" for _ in range(4)
                      for ref in (target.name, str(target), target.as_uri()))
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:30\n{entries}#EXT-X-ENDLIST\n".encode()
    polyglot = playlist + run([*sine(CARRIER_HZ, CARRIER_SECONDS), "-c:a", "aac", "-f", "adts", "pipe:1"])

    accepted = []
    for name in ("x.m3u8", "x.mp3", "x"):
        response = upload(site, user, name, polyglot)
        assert response.status_code in (202, 400), response.text
        print(f"\npolyglot uploaded as {name!r}: {response.status_code}")
        if response.status_code == 202:
            accepted.append(response.json()["id"])
    for pk in accepted:
        request = wait_for(lambda: GenerationRequest.objects.filter(pk=pk, status__in=[Status.DONE, Status.FAILED])
                           .first(), JOB_SECONDS, message="the polyglot's video")
        assert request.status == Status.DONE, (request.error_detail, cluster.output())
        assert not request.audio.name.endswith((".m3u8", ".mp3"))  # stored under the detected format
        sound = np.frombuffer(run(["-i", str(media_root / request.video.file.name), "-vn", "-ac", "1", "-ar",
                                   str(SAMPLE_RATE), "-f", "f32le", "pipe:1"]), np.float32)
        # the carrier with the video's lead-in and tail, never the listed files (15 s each)
        assert sound.size / SAMPLE_RATE < CARRIER_SECONDS + LEAD_IN_SECONDS + TAIL_SECONDS + 0.5
        assert tone_share(sound, CARRIER_HZ) > 0.5 and tone_share(sound, SECRET_HZ) < 1e-3
        print(f"request #{pk}: a video with {sound.size / SAMPLE_RATE:.2f} s of sound, {tone_share(sound, SECRET_HZ):.1e}"
              f" of it at bob's tone")


def test_resampling_bomb_is_refused_at_validation(site, user, avatar):
    bomb = run([*sine(440, 1, 655350), "-af", "pan=7.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0|c6=c0|c7=c0",
                "-c:a", "flac", "-f", "flac", "pipe:1"])
    started = time.monotonic()
    response = upload(site, user, "voice.flac", bomb)
    held = time.monotonic() - started
    assert response.status_code == 400 and "not accepted" in response.json()["audio"][0]
    assert held < HELD_AT_MOST_SECONDS, held  # was 7.8 s of a web worker before the probe refused it
    print(f"\n{len(bomb) / 1e6:.1f} MB FLAC, 8 channels at 655 kHz: answered 400 in {held:.2f} s")
    assert not GenerationRequest.objects.exists()


def test_html_inside_a_valid_wav_is_stored_and_served_as_audio(site, user, avatar):
    wav = run([*sine(300, 1.5), "-f", "wav", "pipe:1"])
    payload = b"<html><script>alert(document.cookie)</script></html>"
    # a RIFF chunk of our own after the data: players skip it, a browser sniffing HTML would find it
    hostile = wav[:4] + (len(wav) - 8 + 8 + len(payload)).to_bytes(4, "little") + wav[8:] + b"junk" + \
        len(payload).to_bytes(4, "little") + payload
    response = upload(site, user, "x.html", hostile)
    assert response.status_code == 202, response.text
    request = GenerationRequest.objects.get(pk=response.json()["id"])
    assert request.audio.name.endswith(".wav") and "x.html" not in request.audio.name
    headers = {"Authorization": f"Token {Token.objects.get(user=user).key}", **site.https}
    served = requests.get(f"{site.url}/api/v1/generations/{request.pk}/recording", headers=headers, timeout=10)
    assert served.status_code == 200 and served.content == hostile
    assert served.headers["Content-Type"] == "audio/wav"
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert served.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in served.headers["Content-Security-Policy"]

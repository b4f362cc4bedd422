"""Wav2Lip through the real worker: a checkpoint in WEIGHTS_DIR is picked up with LIPSYNC_ENGINE=auto."""
import pytest

from generation.models import GenerationRequest, Status
from generation.pipeline.audio import decode
from generation.pipeline.lipsync.wav2lip_model import random_wav2lip, save_as_official
from generation.pipeline.types import SAMPLE_RATE
from tests.probing import probe
from tests.worker import Cluster, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]

JOB_TIMEOUT = 240  # the worker loads espeak, dlib and the checkpoint on a 2-core CI machine


@pytest.fixture
def weights_dir(tmp_path):
    """Random weights of the official shape, saved as the official files are (the real ones can't be had here)."""
    folder = tmp_path / "weights"
    folder.mkdir()
    save_as_official(random_wav2lip(seed=7), folder / "wav2lip_gan.pth")
    return folder


def test_worker_uses_wav2lip_when_a_checkpoint_is_present(api, avatar, media_root, tmp_path, weights_dir):
    cluster = Cluster(media_root, tmp_path / "qcluster.log", WEIGHTS_DIR=weights_dir, LIPSYNC_ENGINE="auto").start()
    try:
        response = api.post("/api/v1/generations/", {"text": "Hello! I am a talking avatar.", "language": "en"},
                            format="json")
        assert response.status_code == 202
        pk = response.json()["id"]
        request = wait_for(lambda: GenerationRequest.objects.filter(pk=pk).exclude(
            status__in=[Status.QUEUED, Status.RUNNING]).first(), JOB_TIMEOUT, message="the wav2lip job")
    finally:
        cluster.stop()
    assert request.status == Status.DONE, (request.error_detail, cluster.output())
    assert request.engine == "wav2lip"
    info = probe(request.video.file.path, count_frames=True)
    assert (info["video_codec"], info["audio_codec"], info["fps"]) == ("h264", "aac", 25)
    # the video covers the whole audio: as many frames as 25 fps needs for its length, to one frame
    audio_seconds = len(decode(request.video.file.path)) / SAMPLE_RATE
    assert abs(info["frames"] - audio_seconds * 25) <= 1, (info, audio_seconds)
    assert 1.0 < info["duration"] < 6.0

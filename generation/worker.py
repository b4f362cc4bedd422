"""The one Pipeline of this process, built on first use (after django-q2 forks its workers)."""
import logging
import os
import socket
import threading

from django.conf import settings

log = logging.getLogger(__name__)

_pipeline = None
_lock = threading.Lock()
builds = 0  # how many times this process built the pipeline; a test checks it stays 1


def pipeline_config():
    from generation.pipeline.runner import PipelineConfig

    return PipelineConfig(
        tts_backend=settings.TTS_BACKEND,
        tts_remote_url=settings.TTS_REMOTE_URL,
        tts_remote_token=settings.TTS_REMOTE_TOKEN,
        lipsync_engine=settings.LIPSYNC_ENGINE,
        wav2lip_precision=settings.WAV2LIP_PRECISION,
        weights_dir=settings.WEIGHTS_DIR,
        torch_threads=settings.TORCH_THREADS,
    )


def get_pipeline():
    """The process-wide pipeline; models are loaded once, never per request."""
    global _pipeline, builds
    with _lock:
        if _pipeline is None:
            from generation.pipeline.runner import build_pipeline

            log.info("Loading the pipeline in process %s", os.getpid())
            _pipeline = build_pipeline(pipeline_config())
            builds += 1
        return _pipeline


def identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


REAPER_SCHEDULE = "reap-stale-generations"


def ensure_reaper_schedule() -> None:
    """The one-minute schedule that recovers jobs of dead workers (also created by a migration)."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=REAPER_SCHEDULE,
        defaults={"func": "generation.tasks.reap_stale", "schedule_type": Schedule.MINUTES, "minutes": 1,
                  "repeats": -1},
    )


def on_spawn(sender=None, proc_name=None, **kwargs) -> None:
    """A django-q2 worker process started: load the models now, not on the first job."""
    try:
        ensure_reaper_schedule()
        get_pipeline()
    except Exception:  # the first job will try again and fail with a readable error
        log.exception("Could not prepare worker %s", proc_name)

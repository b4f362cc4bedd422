"""The one Pipeline of this process, built on first use (after django-q2 forks its workers)."""
import logging
import os
import socket
import threading

from django.conf import settings

log = logging.getLogger(__name__)

_pipeline = None
_lock = threading.Lock()
_watchdog = None
builds = 0  # how many times this process built the pipeline (once, unless loading failed)


def pipeline_config():
    from generation.pipeline.runner import PipelineConfig

    return PipelineConfig(
        tts_backend=settings.TTS_BACKEND,
        tts_remote_url=settings.TTS_REMOTE_URL,
        tts_remote_token=settings.TTS_REMOTE_TOKEN,
        tts_remote_rate_field=settings.TTS_REMOTE_RATE_FIELD,
        lipsync_engine=settings.LIPSYNC_ENGINE,
        wav2lip_precision=settings.WAV2LIP_PRECISION,
        weights_dir=settings.WEIGHTS_DIR,
        torch_threads=settings.TORCH_THREADS,
        max_speech_seconds=settings.MAX_SPEECH_SECONDS,
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


def on_spawn(sender=None, proc_name=None, **kwargs) -> None:
    """A django-q2 worker process started: look for lost jobs from now on, and load the models now."""
    global _watchdog
    from generation.recovery import Watchdog

    if _watchdog is None:
        _watchdog = Watchdog().start()
    try:
        get_pipeline()
    except Exception:  # the first job will try again and fail with a readable error
        log.exception("Could not prepare worker %s", proc_name)

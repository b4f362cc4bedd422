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
MODELS_CACHE_KEY = "worker-models"  # identity -> what that worker loaded (the staff models page)
MODELS_CACHE_SECONDS = 7 * 24 * 3600


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
    global _pipeline
    with _lock:
        if _pipeline is None:
            from generation.pipeline.runner import build_pipeline

            log.info("Loading the pipeline in process %s", os.getpid())
            _pipeline = build_pipeline(pipeline_config())
            report_models(_pipeline)
        return _pipeline


def loaded_models(pipeline) -> dict:
    """What this process loaded: lip-sync engines, TTS voices per language, model files in WEIGHTS_DIR."""
    from pathlib import Path

    from generation.shared.model_files import MODELS

    root = Path(settings.WEIGHTS_DIR)
    return {
        "engines": list(pipeline.engine_names), "default_engine": pipeline.default_engine,
        "voices": {lang: [v.id for v in pipeline.tts.voices(lang)] for lang in pipeline.tts.languages},
        "files": [item.path for model in MODELS for item in model.files if (root / item.path).is_file()],
    }


def report_models(pipeline) -> None:
    """Say in the log, and in the shared cache for the staff page, which models this worker runs."""
    import time

    from django.core.cache import cache

    models = loaded_models(pipeline)
    log.info("Models loaded in %s: lip-sync %s (default %s); voices %s; model files %s", identity(),
             ", ".join(models["engines"]), models["default_engine"],
             "; ".join(f"{lang}: {', '.join(ids)}" for lang, ids in models["voices"].items()),
             ", ".join(models["files"]) or "none")
    try:
        reports = cache.get(MODELS_CACHE_KEY) or {}
        reports[identity()] = {**models, "at": time.time()}
        cache.set(MODELS_CACHE_KEY, reports, MODELS_CACHE_SECONDS)
    except Exception:  # the cache is a convenience for the staff page: never a reason to fail a worker
        log.warning("Could not publish the loaded models to the cache", exc_info=True)


def identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def on_spawn(sender=None, proc_name=None, **kwargs) -> None:
    """A django-q2 worker process started: look for lost jobs from now on, and load the models now."""
    global _watchdog
    from generation.worker.recovery import Watchdog

    if _watchdog is None:
        _watchdog = Watchdog().start()
    try:
        get_pipeline()
    except Exception:  # the first job will try again and fail with a readable error
        log.exception("Could not prepare worker %s", proc_name)

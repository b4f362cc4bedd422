"""The one Pipeline of this process, built on first use (after django-q2 forks its workers)."""
import logging
import os
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from generation.shared.model_files import MODELS, MODELS_CACHE_KEY, MODELS_CACHE_SECONDS
from generation.workerkit import identity

# generation.pipeline stages are imported inside the functions that run them: importing this module
# (scheduler, tasks, commands, the web's signal wiring) loads no cv2, torch or model until work runs.

log = logging.getLogger(__name__)

_pipeline = None
_lock = threading.Lock()
_watchdog = None


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
    root = Path(settings.WEIGHTS_DIR)
    return {
        "engines": list(pipeline.engine_names), "default_engine": pipeline.default_engine,
        "voices": {lang: [v.id for v in pipeline.tts.voices(lang)] for lang in pipeline.tts.languages},
        "files": [item.path for model in MODELS for item in model.files if (root / item.path).is_file()],
    }


def report_models(pipeline) -> None:
    """Say in the log, and in the shared cache for the staff page, which models this worker runs."""
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


def on_spawn(sender=None, proc_name=None, **kwargs) -> None:
    """A django-q2 worker process started: look for lost jobs from now on, and load the models now."""
    global _watchdog
    # here, not at the top: apps.ready imports this module in the web process too (to connect this
    # signal), and the web process must not load the worker's recovery and what it imports
    from generation.worker.recovery import Watchdog

    if _watchdog is None:
        _watchdog = Watchdog().start()
    try:
        get_pipeline()
    except Exception:  # the first job will try again and fail with a readable error
        log.exception("Could not prepare worker %s", proc_name)

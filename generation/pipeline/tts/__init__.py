"""TTS backends, one a module, looked up by name and imported only when asked for."""
from __future__ import annotations

from importlib import import_module

from ..types import TTS_FAILED, PipelineError
from .base import TTSBackend, Voice
from .text import normalize_text, split_text, synthesize_text

# name -> "module:Class"; backends import their heavy parts lazily, so listing them here is free
BACKENDS: dict[str, str] = {
    "espeak": "generation.pipeline.tts.espeak:EspeakBackend",
    "remote": "generation.pipeline.tts.remote:RemoteBackend",
    "piper": "generation.pipeline.tts.piper:PiperBackend",
}

__all__ = ["BACKENDS", "TTSBackend", "Voice", "get_backend", "normalize_text", "split_text", "synthesize_text"]


def get_backend(name: str, **options) -> TTSBackend:
    """Construct the backend called `name` with its keyword `options`."""
    target = BACKENDS.get(name)
    if target is None:
        raise PipelineError(f"Unknown TTS backend {name!r}; allowed: {', '.join(BACKENDS)}.", TTS_FAILED)
    module_name, class_name = target.split(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # a real missing dependency inside the backend: show it as is
        raise PipelineError(f"TTS backend {name!r} is not available in this installation.",
                            TTS_FAILED) from exc
    return getattr(module, class_name)(**options)

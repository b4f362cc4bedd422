"""Voices the configured TTS backend offers, listed without loading any model in the web process."""
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=1)
def _backend():
    from generation.pipeline.tts.registry import build_registry

    return build_registry(settings.TTS_BACKEND, remote_url=settings.TTS_REMOTE_URL,
                          remote_token=settings.TTS_REMOTE_TOKEN, weights_dir=settings.WEIGHTS_DIR)


def voices(language: str) -> list:
    try:
        return list(_backend().voices(language))
    except Exception:
        return []


def voice_ids(language: str) -> list[str]:
    return [voice.id for voice in voices(language)]

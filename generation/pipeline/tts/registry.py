"""All configured TTS backends behind one interface: voices listed together, each id routed home."""
from __future__ import annotations

import logging
from pathlib import Path

from ..types import TTS_FAILED, PipelineError, Speech
from .base import TTSBackend, Voice

log = logging.getLogger(__name__)


class VoiceRegistry(TTSBackend):
    """The primary backend first (its voices are the defaults), then the optional others."""

    name = "registry"

    def __init__(self, backends: list[TTSBackend]):
        if not backends:
            raise PipelineError("No TTS backend is configured.", TTS_FAILED)
        self.backends = backends
        self.languages = tuple(dict.fromkeys(lang for b in backends for lang in b.languages))

    @property
    def primary(self) -> TTSBackend:
        return self.backends[0]

    def voices(self, language: str) -> list[Voice]:
        self.check_language(language)
        seen, voices = set(), []
        for backend in self.backends:
            if language not in backend.languages:
                continue
            for voice in backend.voices(language):
                if voice.id not in seen:
                    seen.add(voice.id)
                    voices.append(voice)
        return voices

    def _home(self, language: str, voice: str | None) -> tuple[TTSBackend, Voice]:
        """The backend that speaks `voice` (None = the default) in `language`, and the voice."""
        chosen = self.resolve_voice(language, voice)
        return next(b for b in self.backends if b.name == chosen.backend and language in b.languages), chosen

    def voice_supports_rate(self, language: str, voice: str | None) -> bool:
        """Whether that voice's own backend can change the pace."""
        return self._home(language, voice)[0].supports_rate

    def synthesize(self, text: str, language: str, voice: str | None = None, rate: float = 1.0) -> Speech:
        backend, chosen = self._home(language, voice)
        if rate == 1.0:  # test doubles and older backends take no `rate`
            return backend.synthesize(text, language, chosen.id)
        backend.check_rate(rate)
        return backend.synthesize(text, language, chosen.id, rate=rate)


def build_registry(primary: str, *, remote_url: str = "", remote_token: str = "",
                   weights_dir: Path | str = "weights", remote_rate_field: str = "") -> VoiceRegistry:
    """The configured primary backend (must load) plus every optional one that is available here."""
    from . import get_backend

    options = {
        "espeak": {},
        "remote": {"url": remote_url, "token": remote_token, "rate_field": remote_rate_field},
        "piper": {"weights_dir": Path(weights_dir)},
    }
    backends = [get_backend(primary, **options.get(primary, {}))]
    optional = ["espeak"] + (["remote"] if remote_url else []) + ["piper"]
    for name in optional:
        if name == primary:
            continue
        try:
            backend = get_backend(name, **options[name])
            if any(backend.voices(lang) for lang in backend.languages):
                backends.append(backend)
        except Exception as exc:  # an optional backend that is not set up here is simply not offered
            log.debug("TTS backend %s not available: %s", name, exc)
    return VoiceRegistry(backends)

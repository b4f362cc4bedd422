"""The TTS backend contract: text in one of a few languages -> `Speech`."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from ..types import TTS_FAILED, PipelineError, Speech


MIN_RATE, MAX_RATE = 0.5, 2.0  # speaking pace a request may ask for; 1.0 = the voice's own


@dataclass(frozen=True)
class Voice:
    """One selectable voice of a backend; `id` is what requests pass as `voice`."""

    id: str
    name: str
    language: str
    backend: str


class TTSBackend(ABC):
    """A speech synthesizer; one instance per process, reused for every request."""

    name: str = ""
    languages: tuple[str, ...] = ()
    supports_rate: bool = False  # True: synthesize() honours `rate` (speaking pace, 1.0 = the voice's own)

    @abstractmethod
    def voices(self, language: str) -> list[Voice]:
        """The voices offered for `language`, the default first."""

    @abstractmethod
    def synthesize(self, text: str, language: str, voice: str | None = None, rate: float = 1.0) -> Speech:
        """Speak `text`; `voice` None means the language's default voice; `rate` 2.0 = twice as fast."""

    def default_voice(self, language: str) -> Voice:
        """The voice used when a request names none."""
        return self.voices(language)[0]

    def check_language(self, language: str) -> str:
        """Return `language` if supported, else raise a PipelineError (TTS_FAILED) naming the allowed ones."""
        if language not in self.languages:
            allowed = ", ".join(self.languages)
            raise PipelineError(f"Unknown language {language!r} for {self.name} TTS; allowed: {allowed}.",
                                TTS_FAILED)
        return language

    def voice_supports_rate(self, language: str, voice: str | None) -> bool:
        """Whether the voice `voice` (None = default) can be spoken faster or slower."""
        self.resolve_voice(language, voice)
        return self.supports_rate

    def check_rate(self, rate: float) -> None:
        """Refuse a pace other than 1.0 when this backend cannot change it (PipelineError, TTS_FAILED)."""
        if rate != 1.0 and not self.supports_rate:
            raise PipelineError(f"The {self.name} TTS cannot change the speaking rate.", TTS_FAILED)

    def resolve_voice(self, language: str, voice: str | None) -> Voice:
        """The Voice for `voice` (None/"" = default), or a PipelineError naming the allowed ids."""
        options = self.voices(self.check_language(language))
        if not voice:
            return self.default_voice(language)
        for v in options:
            if v.id == voice:
                return v
        allowed = ", ".join(v.id for v in options)
        raise PipelineError(f"Unknown voice {voice!r} for language {language!r}; allowed: {allowed}.",
                            TTS_FAILED)

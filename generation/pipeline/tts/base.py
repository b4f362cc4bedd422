"""The TTS backend contract: text in one of a few languages -> `Speech`."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from ..types import TTS_FAILED, PipelineError, Speech


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

    @abstractmethod
    def voices(self, language: str) -> list[Voice]:
        """The voices offered for `language`, the default first."""

    @abstractmethod
    def synthesize(self, text: str, language: str, voice: str | None = None) -> Speech:
        """Speak `text`; `voice` None means the language's default voice."""

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

    def resolve_voice(self, language: str, voice: str | None) -> Voice:
        """The Voice for `voice` (None/"" = default), or a PipelineError naming the allowed ids."""
        options = self.voices(self.check_language(language))
        if not voice:
            return options[0]
        for v in options:
            if v.id == voice:
                return v
        allowed = ", ".join(v.id for v in options)
        raise PipelineError(f"Unknown voice {voice!r} for language {language!r}; allowed: {allowed}.",
                            TTS_FAILED)

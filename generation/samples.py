"""Voice samples: one short sentence per voice, synthesised once, kept in storage, served to anyone signed in.

A web machine may have no TTS installed (requirements/web.txt): it then asks the worker (a django-q2
task) to make the sample and answers "not ready yet" until the file is in storage. Where the web
process can synthesise (espeak-ng, scipy and, for Piper voices, piper-tts installed: one machine), it
makes the sample itself on first request.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from generation.shared import voices
from generation.models import LANGUAGES

# generation.pipeline modules are imported inside the functions that use them: the web process
# loads numpy, Pillow or espeak only for a request that needs them (docs/architecture.md §1).

log = logging.getLogger(__name__)

# hyper-parameters
SAMPLE_TEXT = {
    "ru": "Здравствуйте! Так звучит этот голос.",
    "kk": "Сәлеметсіз бе! Бұл дауыс осылай естіледі.",
    "en": "Hello! This is how this voice sounds.",
}
SAMPLE_VERSION = "1"  # bump when the sentences or the voices' settings change: old samples are not served
FOLDER = "voice-samples"
PENDING_SECONDS = 120  # a sample asked of the worker is not asked again for this long
CONTENT_TYPE = "audio/wav"
# what each backend needs installed in this process to synthesise
NEEDS = {"espeak": ("espeakng_loader", "scipy"), "piper": ("piper", "scipy"), "remote": ("scipy",)}

_lock = threading.Lock()  # one synthesis at a time in this process (espeak is not re-entrant anyway)


def find_voice(voice_id: str):
    """The Voice called `voice_id` in any language, or None."""
    for language in LANGUAGES:
        for voice in voices.voices(language):
            if voice.id == voice_id:
                return voice
    return None


def storage_name(voice) -> str:
    """Where the sample of `voice` is kept; the id is hashed (it may hold '+', or anything a config names)."""
    settings = ""
    if voice.backend == "espeak":  # retuned espeak settings make a new sample, not the old one served
        from generation.pipeline.tts.espeak import PROSODY

        settings = repr(PROSODY.get(voice.language))
    key = f"{SAMPLE_VERSION}:{voice.backend}:{voice.language}:{voice.id}:{settings}"
    key = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"{FOLDER}/{key}.wav"


def can_synthesize(backend: str) -> bool:
    """Whether this process has what `backend` needs to speak."""
    return all(importlib.util.find_spec(module) is not None for module in NEEDS.get(backend, ("-",)))


def synthesize(voice, tts=None) -> bytes:
    """The sample of `voice` as 16 kHz WAV, through `tts` (default: the web's voice registry)."""
    from generation.pipeline import audio
    from generation.pipeline.tts.text import synthesize_text

    tts = tts or voices._backend()
    speech = synthesize_text(tts, SAMPLE_TEXT[voice.language], voice.language, voice.id)
    return audio.wav_bytes(audio.prepare(speech).samples)


def store(voice, data: bytes) -> str:
    """Save the sample (replacing an older copy under the same name)."""
    name = storage_name(voice)
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(data))


def stored(voice) -> bytes | None:
    """The sample's bytes from storage, or None."""
    name = storage_name(voice)
    if not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as f:
        return f.read()


def sample(voice) -> bytes | None:
    """The sample's bytes: stored, else made here if this process can, else asked of the worker (None)."""
    data = stored(voice)
    if data is not None:
        return data
    if can_synthesize(voice.backend):
        with _lock:
            data = stored(voice)  # another thread may have made it meanwhile
            if data is None:
                data = synthesize(voice)
                store(voice, data)
        return data
    ask_worker(voice)
    return None


def ask_worker(voice) -> None:
    """Queue the worker's task that makes this sample, once per PENDING_SECONDS."""
    from django_q.tasks import async_task

    if cache.add(f"voice-sample-pending:{storage_name(voice)}", 1, PENDING_SECONDS):
        async_task("generation.worker.tasks.make_voice_sample", voice.id, task_name=f"voice-sample-{voice.id}"[:100],
                   group="voice-samples")


def make_in_worker(voice_id: str, tts) -> str:
    """The worker's side: synthesise with the loaded pipeline's TTS (`tts`) and store the sample."""
    voice = find_voice(voice_id)
    if voice is None:
        return f"no voice {voice_id!r}"
    if stored(voice) is None:
        store(voice, synthesize(voice, tts))
    cache.delete(f"voice-sample-pending:{storage_name(voice)}")
    return f"sample of {voice_id} ready"

"""Voices the configured TTS backend offers, listed without loading any model in the web process.

The backends name their voices in English ("Russian, male"); the names are shown in the interface
language ("Русский, мужской", "Орысша, ер дауысы"), translated part by part, so every backend that
names its voices this way is covered. A part with no translation stays as the backend wrote it.
"""
import dataclasses
import os
import re
import time
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

# generation.pipeline modules are imported inside the functions that use them: the web process
# loads numpy, Pillow or espeak only for a request that needs them (docs/architecture.md §1).

# The parts of the backends' voice names (generation/pipeline/tts), for the translators.
NAME_PARTS = {
    "Russian": pgettext_lazy("voice", "Russian"),
    "Kazakh": pgettext_lazy("voice", "Kazakh"),
    "English": pgettext_lazy("voice", "English"),
    "English (US)": pgettext_lazy("voice", "English (US)"),
    "English (UK)": pgettext_lazy("voice", "English (UK)"),
    "male": pgettext_lazy("voice", "male"),
    "female": pgettext_lazy("voice", "female"),
    "low": pgettext_lazy("voice", "low"),
    "United States": pgettext_lazy("voice", "US"),
    "United Kingdom": pgettext_lazy("voice", "UK"),
}
# Piper's model tiers ("Joe (English, United States, medium)"): a file size, nothing a listener hears as a name
MODEL_TIERS = {"x_low", "low", "medium", "high"}
REMOTE_NAME = re.compile(r"^Remote service \((?P<voice>.+)\)$")
PIPER_NAME = re.compile(r"^(?P<who>[^()]+) \((?P<parts>[^()]+)\)$")  # "Joe (English, United States, medium)"
# A directory changed this recently may change again within the same mtime tick: its scan is not trusted
RACY_NS = 2_000_000_000


def _stamps(dirs: tuple) -> tuple:
    """Each directory's mtime (None when it is missing): a file added, removed or renamed in changes it."""
    stamps = []
    for folder in dirs:
        try:
            stamps.append(os.stat(folder).st_mtime_ns)
        except OSError:
            stamps.append(None)
    return tuple(stamps)


# (piper root, the directories watched, their mtimes at the scan, what the scan found): one tuple, swapped whole
_scan: tuple = (None, (), (), ())


def _voice_files() -> tuple:
    """(name, size) of the Piper voice files in WEIGHTS_DIR: a new voice (manage.py fetch_models) changes it.

    Rescanned only when a watched directory's mtime moved: WEIGHTS_DIR/piper and every folder under it
    (a voice may sit at any depth; a new folder moves its parent's), or WEIGHTS_DIR while piper/ is missing.
    So listing the voices costs a few stat calls, and a fetched voice still shows without a restart.
    """
    global _scan
    root = Path(settings.WEIGHTS_DIR) / "piper"
    cached_root, dirs, stamps, files = _scan
    if cached_root == root and _stamps(dirs) == stamps:
        return files
    if root.is_dir():
        dirs = (root, *sorted(p for p in root.rglob("*") if p.is_dir()))
    else:
        dirs = (root.parent, root)
    stamps = _stamps(dirs)  # before the listing: a file landing during it moves a stamp, so the next call rescans
    files = tuple(sorted((str(p.relative_to(root)), p.stat().st_size)
                         for p in root.rglob("*.onnx*") if p.is_file())) if root.is_dir() else ()
    if any(stamp is not None and time.time_ns() - stamp < RACY_NS for stamp in stamps):
        stamps = None  # changed within the clock's tick: a change in the same tick would keep the stamp; look again
    _scan = (root, dirs, stamps, files)
    return files


@lru_cache(maxsize=1)
def _registry(voice_files: tuple, backend: str, remote_url: str, weights_dir: str, rate_field: str):
    from generation.pipeline.tts.registry import build_registry

    return build_registry(backend, remote_url=remote_url, remote_token=settings.TTS_REMOTE_TOKEN,
                          weights_dir=weights_dir, remote_rate_field=rate_field)


def _backend():
    """The web's voice registry, rebuilt when the voice files change: no restart of the web for a new voice."""
    return _registry(_voice_files(), settings.TTS_BACKEND, settings.TTS_REMOTE_URL, str(settings.WEIGHTS_DIR),
                     settings.TTS_REMOTE_RATE_FIELD)


def _cache_clear() -> None:
    """Forget the registry and the voice-file scan (tests that change WEIGHTS_DIR's contents by hand)."""
    global _scan
    _scan = (None, (), (), ())
    _registry.cache_clear()


_backend.cache_clear = _cache_clear


def display_name(name: str) -> str:
    """A backend's voice name in the active language."""
    remote = REMOTE_NAME.match(name)
    if remote:
        return _("Remote service (%(voice)s)") % {"voice": remote["voice"]}
    piper = PIPER_NAME.match(name)
    if piper:  # a person's name, then language and country: "Joe (English, US)"
        parts = ", ".join(part for part in piper["parts"].split(", ") if part not in MODEL_TIERS)
        return f"{piper['who']} ({translate_parts(parts)})"
    return translate_parts(name)


def translate_parts(text: str) -> str:
    """ "Russian, male" → "Русский, мужской": each comma-separated part on its own."""
    return ", ".join(str(NAME_PARTS.get(part, part)) for part in text.split(", "))


def voices(language: str) -> list:
    """The voices of `language`, the default first, named in the active language."""
    try:
        found = list(_backend().voices(language))
    except Exception:
        return []
    return [dataclasses.replace(voice, name=display_name(voice.name)) for voice in found]


def display_name_of(voice_id: str, language: str) -> str:
    """The name of voice `voice_id` of `language` in the active language; the id itself if it is gone."""
    return next((voice.name for voice in voices(language) if voice.id == voice_id), voice_id)


def supports_rate(language: str, voice: str) -> bool:
    """Whether `voice` ("" = the language's default) can be spoken faster or slower."""
    try:
        return _backend().voice_supports_rate(language, voice or None)
    except Exception:
        return False


def voice_ids(language: str) -> list[str]:
    return [voice.id for voice in voices(language)]


def default_voice_id(language: str) -> str:
    """The voice a request that names none is spoken in (the TTS backend's default_voice); "" when unknown."""
    try:
        return _backend().default_voice(language).id
    except Exception:
        return ""

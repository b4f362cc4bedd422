"""The optional model files `manage.py fetch_models` can fetch: the single source of truth.

Each file is pinned by SHA-256 and size; a download that does not match never lands. Pins come from
the files' own publishers where found: the Piper voices from the Git LFS pointers of the
rhasspy/piper-voices layout (as mirrored at smseagle/piper-voices@5227e415), the S3FD detector from
face-alignment's published hash (its file name carries the hash's first ten digits).

The Wav2Lip + GAN checkpoint (`wav2lip_gan.pth`, where the worker looks for it: WEIGHTS_DIR's top
level, lipsync.WAV2LIP_CHECKPOINTS) has a SHA-256 but no exact size:
- its official home, the Rudrabha/Wav2Lip README, links a SharePoint share; the URL below is that
  share's direct-download form, the one many install scripts use;
- its SHA-256 (ca9ab7b7…3d8) is quoted identically by many independent projects, one of them a
  Git LFS error naming it as the object id (an LFS oid is the content's SHA-256);
- no one publishes its byte count (a Hugging Face mirror's script, camenduru/Wav2Lip, says ~436 MB).
So it carries `max_size` (500 MB) instead of `size`: the download stops past the bound, and the
SHA-256 decides. Before it is moved in it must also load as a Wav2Lip generator of the official
tensor shapes (`check="wav2lip"`: the worker's own checkpoint loader).
It is not fetched by default (`default=False`): its licence is research and non-commercial only,
and the worker uses it for every request once it is there. Name it to fetch it.

Left out, for want of a pin that could be checked here: the voices' `.onnx.json` configs (plain Git
files, no LFS pointer: no published hash) are fetched too, but checked by what they are (small JSON of
Piper's shape, an espeak voice of the model's language: fetching.fetch_voice_config), not by a hash.
"""
from __future__ import annotations

from dataclasses import dataclass

# each worker publishes what it loaded under this key; the staff models page reads it
MODELS_CACHE_KEY = "worker-models"  # identity -> what that worker loaded
MODELS_CACHE_SECONDS = 7 * 24 * 3600

PIPER_HOME = "https://huggingface.co/rhasspy/piper-voices/resolve/main"
S3FD_HOME = "https://www.adrianbulat.com/downloads/python-fan"
WAV2LIP_GAN_URL = ("https://iiitaphyd-my.sharepoint.com/personal/radrabha_m_research_iiit_ac_in/_layouts/15/"
                   "download.aspx?share=EdjI7bZlgApMqsVoEUUXpLsBxqXbn5z8VTmoxp55YNDcIA")
WAV2LIP_MAX_BYTES = 500_000_000  # no published size; ~436 MB by the one mirror that states it


@dataclass(frozen=True)
class ModelFile:
    """One file: where it lands under WEIGHTS_DIR, where it comes from, and what it must be."""

    path: str  # relative to WEIGHTS_DIR; a mirror serves the same path under its URL
    url: str
    sha256: str
    size: int = 0  # exact bytes, when published
    max_size: int = 0  # else an upper bound: the download stops past it, and the SHA-256 decides
    check: str = ""  # a content check after the SHA-256 (fetching.CONTENT_CHECKS), e.g. "wav2lip"

    def __post_init__(self):
        if (self.size > 0) == (self.max_size > 0):
            raise ValueError(f"{self.path}: give exactly one of size and max_size")

    @property
    def limit(self) -> int:
        """The most bytes the file may have."""
        return self.size or self.max_size

    def fits(self, size: int) -> bool:
        """True when a file of `size` bytes may be this one (the SHA-256 still has to say so)."""
        return size == self.size if self.size else 0 < size <= self.max_size


@dataclass(frozen=True)
class Model:
    """A named set of files fetched together, with its licence."""

    name: str
    title: str
    licence: str
    files: tuple[ModelFile, ...]
    configs: tuple[tuple[str, str, str], ...] = ()  # (path, url, language): no pin; checked by content
    default: bool = True  # fetched when no name is given


def _piper(name: str, folder: str, sha256: str, size: int, title: str, licence: str) -> Model:
    """A Piper voice: its .onnx pinned, its .onnx.json checked by content (its language: the name's prefix)."""
    return Model(name, title, licence,
                 (ModelFile(f"piper/{name}.onnx", f"{PIPER_HOME}/{folder}/{name}.onnx", sha256, size),),
                 ((f"piper/{name}.onnx.json", f"{PIPER_HOME}/{folder}/{name}.onnx.json", name.split("_")[0]),))


MODELS: tuple[Model, ...] = (
    _piper("ru_RU-irina-medium", "ru/ru_RU/irina/medium",
           "8ff38212d23da300bbe3705c645e6e5b9475f0bfde01558eb17813e22acaaaaa", 63201294,
           "Piper voice: Russian, Irina (female), medium",
           "see its MODEL_CARD in rhasspy/piper-voices (ru/ru_RU/irina/medium)"),
    _piper("ru_RU-denis-medium", "ru/ru_RU/denis/medium",
           "15fab56e11a097858ee115545d0f697fc2a316c41a291a5362349fb870411b0a", 63201294,
           "Piper voice: Russian, Denis (male), medium",
           "see its MODEL_CARD in rhasspy/piper-voices (ru/ru_RU/denis/medium)"),
    _piper("kk_KZ-issai-high", "kk/kk_KZ/issai/high",
           "4dee767c893e8535da821447d12cb030e3569e11254c14030a1da5d8b2222c16", 127864258,
           "Piper voice: Kazakh, ISSAI KazakhTTS, high",
           "CC BY 4.0 (the ISSAI KazakhTTS data set); see its MODEL_CARD in rhasspy/piper-voices"),
    _piper("en_US-ljspeech-medium", "en/en_US/ljspeech/medium",
           "6f52a751e2349abe7a76735eb09dc1875298c77ea2342ffd2fef79ff81b87f22", 63531379,
           "Piper voice: English (US), LJSpeech (female), medium",
           "public domain data set (LJ Speech); see its MODEL_CARD in rhasspy/piper-voices"),
    Model("s3fd", "S3FD face detector (face-alignment), for the Wav2Lip crop",
          "BSD-3-Clause (face-alignment); the S3FD authors' research terms may apply",
          (ModelFile("s3fd-619a316812.pth", f"{S3FD_HOME}/s3fd-619a316812.pth",
                     "619a31681264d3f7f7fc7a16a42cbbe8b23f31a256f75a366e5a1bcd59b33543", 89843225),)),
    Model("wav2lip-gan", "Wav2Lip + GAN lip-sync checkpoint (official, wav2lip_gan.pth)",
          "personal, research and non-commercial use only; commercial use needs a licence from the "
          "Wav2Lip authors (Rudrabha/Wav2Lip)",
          (ModelFile("wav2lip_gan.pth", WAV2LIP_GAN_URL,
                     "ca9ab7b7b812c0e80a6e70a5977c545a1e8a365a6c49d5e533023c034d7ac3d8",
                     max_size=WAV2LIP_MAX_BYTES, check="wav2lip"),),
          default=False),
)


def by_name() -> dict[str, Model]:
    """The manifest keyed by name."""
    return {m.name: m for m in MODELS}

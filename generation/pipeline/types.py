"""Plain data passed between pipeline stages (no Django, no heavy imports)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

SAMPLE_RATE = 16000  # every stage after `audio` works on 16 kHz mono float32
FPS = 25
LANGUAGES = ("ru", "kk", "en")  # what users may ask for, in the order pages and errors list them
MOTION_LEVELS = ("none", "subtle", "lively")  # a photo avatar's head motion (motion.py), stillest first
DEFAULT_MOTION = "subtle"
# the lip-sync engines: viseme is built in and always there; wav2lip needs its checkpoint in WEIGHTS_DIR
VISEME, WAV2LIP = "viseme", "wav2lip"
ENGINES = (VISEME, WAV2LIP)
AUTO_ENGINE = "auto"  # LIPSYNC_ENGINE's default: wav2lip where it loads, else viseme
SUBTITLE_MODES = ("none", "burn")  # captions always come as WebVTT/SRT files; "burn" also draws them into the frames
# the output frame (framing.py): the avatar's own size, or a presenter's place on a frame of this shape
FRAME_ORIGINAL = "original"
FRAMES = (FRAME_ORIGINAL, "16:9", "9:16", "1:1")
RESOLUTIONS = (720, 1080)  # the short side of a framed video
DEFAULT_RESOLUTION = 720
BACKGROUND_BLUR = "blur"  # the photo's own surroundings, extended and blurred
BACKGROUND_IMAGE = "image"  # a picture the user uploaded
BACKGROUND_COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}\Z"  # or one colour, #rrggbb


# What went wrong, as a stable code: the web side maps each to a translated message for users, the
# exception's own text (which may name files or hosts) goes to the logs only.
TEXT_EMPTY = "text_empty"
TTS_FAILED = "tts_failed"  # the synthesizer itself failed
SPEECH_TOO_LONG = "speech_too_long"  # params: seconds (spoken so far), limit
TTS_UNREACHABLE = "tts_unreachable"  # a remote TTS service is down, slow or refuses us
TTS_BAD_ANSWER = "tts_bad_answer"  # ... or answered with something that is not audio
AUDIO_INVALID = "audio_invalid"  # does not decode as audio
AUDIO_UNSUPPORTED = "audio_unsupported"  # decodes, but a container, codec, rate or layout we refuse
AUDIO_TOO_LONG = "audio_too_long"
AUDIO_SILENT = "audio_silent"
AVATAR_UNREADABLE = "avatar_unreadable"  # the avatar's picture cannot be read
FACE_NOT_FOUND = "face_not_found"
FACE_TOO_SMALL = "face_too_small"
ENGINE_UNAVAILABLE = "engine_unavailable"
CHECKPOINT_INVALID = "checkpoint_invalid"
ENCODE_FAILED = "encode_failed"
PIPELINE_FAILED = "pipeline_failed"  # anything else inside the pipeline
# video avatars
VIDEO_INVALID = "video_invalid"  # not a video we can read
VIDEO_UNSUPPORTED = "video_unsupported"  # a container or codec we refuse
VIDEO_TOO_LONG = "video_too_long"  # params: seconds, limit
VIDEO_TOO_LARGE = "video_too_large"  # params: width, height, limit (px on the long side)
VIDEO_FRAME_RATE = "video_frame_rate"  # params: fps, limit (frames per second)
CLIP_NO_FACE = "clip_no_face"  # no face anywhere in the clip
CLIP_NO_USABLE_STRETCH = "clip_no_usable_stretch"  # params: reason, at (s), longest (s), minimum (s)


class PipelineError(Exception):
    """A stage failed. `code` (one of the constants above) is what users are told, with `params` (numbers
    such as a time in the clip) filled into that message; the exception's text is for logs."""

    code = PIPELINE_FAILED

    def __init__(self, message: str = "", code: str | None = None, params: dict | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.params = dict(params or {})


@dataclass(frozen=True)
class Phoneme:
    """One phoneme of synthesized speech, times in seconds from the start of the samples."""

    start: float
    end: float
    symbol: str  # espeak-ng's phoneme mnemonic, e.g. "a", "m", "o:", "_" for a pause
    stress: int = 0  # 2 primary, 1 secondary, 0 none or unknown (espeak marks stressed vowels ' and ,)


@dataclass(frozen=True)
class Word:
    """One spoken word as the synthesizer received it (a whitespace-separated token), times in seconds."""

    start: float
    end: float
    text: str


@dataclass
class Speech:
    """What a TTS backend returns: raw samples at their own rate, plus phonemes and words when known."""

    samples: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int
    phonemes: list[Phoneme] | None = None
    words: list[Word] | None = None  # espeak reports them; remote, piper and recordings do not


@dataclass
class Audio:
    """16 kHz mono float32 audio ready for lip-sync; `offset`: seconds trimmed from the source's start (negative: silence added)."""

    samples: np.ndarray
    offset: float = 0.0
    phonemes: list[Phoneme] | None = None  # already shifted by `offset`
    words: list[Word] | None = None  # likewise

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


@dataclass(frozen=True)
class Face:
    """The largest face of an image: box (left, top, right, bottom) and 68 iBUG landmarks (x, y)."""

    box: tuple[int, int, int, int]
    landmarks: np.ndarray  # (68, 2) float32
    image_size: tuple[int, int]  # (width, height)

    def to_dict(self) -> dict:
        return {
            "box": list(map(int, self.box)),
            "landmarks": np.asarray(self.landmarks, dtype=float).round(2).tolist(),
            "image_size": list(map(int, self.image_size)),
        }

    def fitted(self, width: int, height: int) -> "Face":
        """The same face on a copy of its image resized to width x height (itself when that is its size)."""
        if tuple(self.image_size) == (width, height):
            return self
        sx, sy = width / self.image_size[0], height / self.image_size[1]
        left, top, right, bottom = self.box
        box = (int(round(left * sx)), int(round(top * sy)), int(round(right * sx)), int(round(bottom * sy)))
        points = (np.asarray(self.landmarks, np.float32) * np.float32([sx, sy])).astype(np.float32)
        return Face(box=box, landmarks=points, image_size=(width, height))

    @classmethod
    def from_dict(cls, data: dict) -> "Face":
        return cls(
            box=tuple(int(v) for v in data["box"]),
            landmarks=np.asarray(data["landmarks"], dtype=np.float32).reshape(68, 2),
            image_size=tuple(int(v) for v in data["image_size"]),
        )


@dataclass(frozen=True)
class VideoInfo:
    path: str
    duration: float
    width: int
    height: int
    fps: int
    size: int  # bytes


@dataclass
class Timings:
    """Seconds per stage (STAGES, in that order), then their sum."""

    tts: float = 0.0
    audio: float = 0.0
    face: float = 0.0
    lipsync: float = 0.0
    encode: float = 0.0
    total: float = 0.0
    extra: dict = field(default_factory=dict)


# the stages' seconds a run reports, in the order pages show them (models and the bench follow it)
PIPELINE_TIMINGS = tuple(f.name for f in fields(Timings) if f.name != "extra")
# the stages a run goes through, in order: progress reports (runner), the request's stage and timings (models)
STAGES = tuple(name for name in PIPELINE_TIMINGS if name != "total")


def frame_count(num_samples: int, fps: int = FPS) -> int:
    """Video frames that cover `num_samples` of 16 kHz audio (duration within one frame).

    Half a frame rounds up, never to even: cut on frame boundaries, the pieces' counts then add up to the
    whole's (with round() a speech of 678.5 frames made 678 whole but 679 in pieces).
    """
    return max(1, (2 * num_samples * fps + SAMPLE_RATE) // (2 * SAMPLE_RATE))

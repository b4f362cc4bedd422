"""The pipeline: TTS → audio → face → lip-sync → encode, built once per worker process."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from . import audio as audio_stage
from . import burnin, captions, hls, pieces
from . import framing as framing_stage
from . import video as video_stage
from .tts.text import synthesize_text
from .types import (AUTO_ENGINE, AVATAR_UNREADABLE, ENGINE_UNAVAILABLE, ENGINES, FACE_NOT_FOUND, FPS, PIPELINE_FAILED,
                    STAGES, VISEME, WAV2LIP, Face, PipelineError, Timings, VideoInfo, frame_count)

log = logging.getLogger(__name__)

# progress(stage, percent 0–100); stage: one of types.STAGES
ProgressCallback = Callable[[str, int], None]

# Share of the progress bar each stage (types.STAGES, in order) ends at; lip-sync and encoding run together.
STAGE_END_PERCENT = dict(zip(STAGES, (15, 20, 25, 95, 100), strict=True))
PROGRESS_STEP = 5  # report lip-sync progress in steps of this many percent
PREPARED_CACHE_SIZE = 16  # avatars whose engine state stays in memory (a clip's: its arrays and an open frame store)


@dataclass
class PipelineConfig:
    tts_backend: str = "espeak"
    tts_remote_url: str = ""
    tts_remote_token: str = ""
    tts_remote_rate_field: str = ""  # the service's JSON field for the pace; empty: it has none
    lipsync_engine: str = AUTO_ENGINE  # or one of ENGINES
    wav2lip_precision: str = "auto"  # auto (bf16 where native and self-tested) | fp32 (exact) | bf16
    weights_dir: Path = Path("weights")
    torch_threads: int = 0
    max_speech_seconds: float = 0  # longer synthesized speech fails with SPEECH_TOO_LONG; 0 = no limit


@dataclass
class Result:
    video: VideoInfo
    timings: Timings
    engine: str
    voice: str
    audio_duration: float
    captions: list = field(default_factory=list)  # captions.Cue: the text timed against the speech
    notes: list = field(default_factory=list)  # {"code", "params"} the request keeps, e.g. framing's "upscaled"


def _noop(stage: str, percent: int) -> None:
    pass


@dataclass(frozen=True)
class Job:
    """One video to make: what `Pipeline.run` was given (see there), handed to `_run` as one value."""

    text: str
    language: str
    out_path: Path
    image: np.ndarray | None = None
    image_path: str | Path | None = None
    face: Face | None = None
    clip: tuple | None = None
    avatar_key: object = None
    voice: str | None = None
    engine: str | None = None
    speech: object = None  # a types.Speech: skips TTS
    seed: int = 0
    fps: int = FPS
    progress: ProgressCallback = _noop
    subtitles: str = "none"
    motion: str | None = None
    framing: framing_stage.Format | None = None
    stream_dir: str | Path | None = None
    rate: float = 1.0


class _TimedFrames:
    """Wraps the engine's frame iterator: time spent producing frames is lip-sync time."""

    def __init__(self, frames: Iterator[np.ndarray], total: int, progress: ProgressCallback):
        self.frames, self.total, self.progress = frames, total, progress
        self.seconds = 0.0
        self.count = 0
        self._reported = -1

    def __iter__(self):
        return self

    def __next__(self) -> np.ndarray:
        start = time.perf_counter()
        try:
            frame = next(self.frames)
        finally:
            self.seconds += time.perf_counter() - start
        self.count += 1
        lo, hi = STAGE_END_PERCENT["face"], STAGE_END_PERCENT["lipsync"]
        percent = lo + (hi - lo) * self.count // max(1, self.total)
        if percent - self._reported >= PROGRESS_STEP or self.count == self.total:
            self._reported = percent
            self.progress("lipsync", percent)
        return frame


class Pipeline:
    """Holds the loaded TTS backend, face analyser and lip-sync engines; `run` makes one video."""

    def __init__(self, tts, engines: dict, default_engine: str, analyzer_factory=None, max_speech_seconds: float = 0):
        self.tts = tts
        self.max_speech_seconds = max_speech_seconds
        self.engines = engines
        self.default_engine = default_engine
        self._analyzer_factory = analyzer_factory
        self._analyzer = None
        self._prepared: dict = {}
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load lazily-initialised libraries now (espeak voices, resampler) so the first job is fast."""
        for language in self.tts.languages:
            audio_stage.prepare(self.tts.synthesize("a", language))
        self.analyzer()
        for engine in self.engines.values():
            if hasattr(engine, "warm_up"):
                engine.warm_up()

    @property
    def engine_names(self) -> list[str]:
        return list(self.engines)

    def analyzer(self):
        if self._analyzer is None:
            from .faces import FaceAnalyzer

            self._analyzer = (self._analyzer_factory or FaceAnalyzer)()
        return self._analyzer

    def engine(self, name: str | None):
        name = name or self.default_engine
        if name not in self.engines:
            raise PipelineError(
                f"Lip-sync engine «{name}» is not available here; available: {', '.join(self.engines)}.",
                ENGINE_UNAVAILABLE,
            )
        return name, self.engines[name]

    def prepared(self, engine_name: str, engine, image: np.ndarray, face: Face, key):
        """Engine state for a photo avatar, computed once and reused while `key` stays the same."""
        return self._cached(engine_name, engine, key, lambda: engine.prepare(image, face))

    def prepared_clip(self, engine_name: str, engine, clip: tuple, key):
        """Engine state for a video avatar (clip = (data_path, frames_path) from clip.prepare_clip), cached like a photo's."""
        from .clip import ClipReader

        def make():
            reader = ClipReader(*clip)
            try:
                return engine.prepare_clip(reader)
            except BaseException:
                reader.close()
                raise

        return self._cached(engine_name, engine, key, make)

    def _cached(self, engine_name: str, engine, key, make):
        """The state under (engine_name, key), made now if absent; the oldest state beyond the cache size is closed."""
        cache_key = (engine_name, key) if key is not None else None
        if cache_key is not None and cache_key in self._prepared:
            return self._prepared[cache_key][1]
        state = make()
        if cache_key is not None:
            if len(self._prepared) >= PREPARED_CACHE_SIZE:
                old_engine, old_state = self._prepared.pop(next(iter(self._prepared)))
                old_engine.close_state(old_state)
            self._prepared[cache_key] = (engine, state)
        return state

    def run(
        self,
        text: str,
        language: str,
        out_path: str | Path,
        *,
        image: np.ndarray | None = None,
        image_path: str | Path | None = None,
        face: Face | None = None,
        clip: tuple | None = None,
        avatar_key=None,
        voice: str | None = None,
        engine: str | None = None,
        speech=None,
        seed: int = 0,
        fps: int = FPS,
        progress: ProgressCallback = _noop,
        subtitles: str = "none",
        motion: str | None = None,
        framing: framing_stage.Format | None = None,
        stream_dir: str | Path | None = None,
        rate: float = 1.0,
    ) -> Result:
        """Make one MP4; `speech` (a types.Speech) skips TTS, e.g. for uploaded audio.

        The avatar is a photo (`image` or `image_path`, with its `face` or analysed now) or a video
        avatar, `clip` = (data_path, frames_path) of clip.prepare_clip: its frames play in loop order
        under the speech, whose audio replaces the clip's own, at the clip's prepared size (an odd
        side loses its last pixel row or column in the encoder). Engine state is cached per
        (engine, avatar_key); with no key it is made for this run and released after it.
        `motion` (motion.MOTION_LEVELS; None = still) moves a photo avatar's head with the speech,
        deterministically for `seed`; a clip moves as it was filmed and ignores it.
        Captions are always made from `text` (none for a recording without text); `subtitles`
        "burn" also draws them into the frames. `framing` (framing.Format; None or "original": the
        avatar's own size) places the rendered frames on a 16:9, 9:16 or 1:1 frame with a background,
        before subtitles are burned in, so they follow the output frame. `stream_dir`: the encode is also
        written there as a growing HLS playlist (hls.py), for watching while it is made. `rate` scales the
        synthesized speech's pace (not a recording's).
        """
        job = Job(text=text, language=language, out_path=Path(out_path), image=image, image_path=image_path,
                  face=face, clip=clip, avatar_key=avatar_key, voice=voice, engine=engine, speech=speech, seed=seed,
                  fps=fps, progress=progress, subtitles=subtitles, motion=motion, framing=framing,
                  stream_dir=stream_dir, rate=rate)
        with self._lock:  # one job at a time per process: espeak and the engines are not re-entrant
            return self._run(job)

    def _run(self, job: Job) -> Result:
        text, language, out_path, fps, progress, seed = job.text, job.language, job.out_path, job.fps, job.progress, job.seed
        image, face, clip, avatar_key, speech, motion = job.image, job.face, job.clip, job.avatar_key, job.speech, job.motion
        timings = Timings()
        started = time.perf_counter()
        engine_name, lipsync = self.engine(job.engine)

        progress("tts", 0)
        t = time.perf_counter()
        voice_used = ""
        if speech is None:
            voice_used = job.voice or self.tts.default_voice(language).id
            speech = synthesize_text(self.tts, text, language, voice_used, max_seconds=self.max_speech_seconds,
                                     rate=job.rate)
        timings.tts = time.perf_counter() - t

        progress("audio", STAGE_END_PERCENT["tts"])
        t = time.perf_counter()
        audio = audio_stage.prepare(speech)
        cues = captions.cues_for(text, audio)
        timings.audio = time.perf_counter() - t

        progress("face", STAGE_END_PERCENT["audio"])
        t = time.perf_counter()
        if clip is not None:
            state = self.prepared_clip(engine_name, lipsync, tuple(clip), avatar_key)
        else:
            image = self._photo(image, job.image_path)
            if face is None:
                face = self.analyzer().analyze(image)
                if face is None:
                    raise PipelineError("No face found on the avatar photo.", FACE_NOT_FOUND)
            # a photo prepared before load_image capped its side was analysed at its full size
            face = face.fitted(image.shape[1], image.shape[0])
            state = self.prepared(engine_name, lipsync, image, face, avatar_key)
        # a stream plays its first piece while the rest is planned (pieces.py); a clip is never cut
        parts = pieces.split(audio, fps) if job.stream_dir is not None and clip is None else [audio]
        moving = None if clip is not None or len(parts) > 1 else moving_photo(image, face, audio, motion, seed, fps)
        composer, notes = None, []
        if job.framing is not None and not job.framing.is_original:
            composer, notes = framing_stage.prepare(job.framing, *_framing_source(image, face, clip))
        timings.face = time.perf_counter() - t

        try:
            progress("lipsync", STAGE_END_PERCENT["face"])
            total_frames = frame_count(len(audio.samples), fps)
            if len(parts) == 1:
                rendered = lipsync.render(state, audio, fps=fps, seed=seed, motion=moving)
            else:
                rendered = _pieces_rendered(lipsync, state, parts, image, face, motion, seed, fps)
            frames = _TimedFrames(iter(rendered), total_frames, progress)
            t = time.perf_counter()
            out_path.parent.mkdir(parents=True, exist_ok=True)
            if job.stream_dir is not None:  # the cues are known before the first frame: the stream's captions come first
                hls.write_captions(job.stream_dir, captions.to_webvtt(cues))
            framed = framing_stage.FramedFrames(frames, composer) if composer is not None else frames
            shown = burnin.SubtitleFilter(framed, cues, fps) if job.subtitles == "burn" else framed
            info = video_stage.encode_mp4(shown, audio.samples, out_path, fps=fps, stream_dir=job.stream_dir)
        finally:
            if avatar_key is None:  # not cached: nobody else will close it
                lipsync.close_state(state)
        progress("encode", STAGE_END_PERCENT["encode"])
        timings.lipsync = frames.seconds
        timings.encode = time.perf_counter() - t - frames.seconds
        timings.total = time.perf_counter() - started
        if shown is not framed:
            timings.extra["subtitles"] = shown.seconds
        if framed is not frames:
            timings.extra["framing"] = framed.seconds
        return Result(video=info, timings=timings, engine=engine_name, voice=voice_used,
                      audio_duration=audio.duration, captions=cues, notes=notes)

    def _photo(self, image, image_path) -> np.ndarray:
        """The avatar photo: given, or read from `image_path`."""
        if image is not None:
            return image
        if image_path is None:
            raise PipelineError("No avatar image given.", AVATAR_UNREADABLE)
        from .images import load_image

        return load_image(image_path)


def _framing_source(image, face, clip) -> tuple[Face, np.ndarray]:
    """The face and picture framing plans from: the photo's, or a clip's first frame with its median face."""
    if clip is None:
        return face, image
    from .clip import ClipReader

    reader = ClipReader(*clip)
    try:
        picture = reader.frame(0)
        box = tuple(int(v) for v in np.median(reader.boxes, axis=0).round())
        points = np.median(reader.landmarks, axis=0).astype(np.float32)
        return Face(box=box, landmarks=points, image_size=(reader.width, reader.height)), picture
    finally:
        reader.close()


def _pieces_rendered(lipsync, state, parts, image, face, motion, seed, fps):
    """A photo's frames piece after piece, each planned when its turn comes (pieces.py).

    A moving head follows each piece's own plan, eased in from where the previous piece left it.
    """
    from .motion import NONE, MotionSource

    moves = bool(motion) and motion != NONE
    previous = None
    for number, part in enumerate(parts):
        moving = None
        if moves:
            plan = _plan(part, face, motion, seed + number, fps)
            plan = pieces.slice_plan(plan, 0, len(plan), after=previous)
            previous, moving = plan, MotionSource(image, face, plan)
        yield from lipsync.render(state, part, fps=fps, seed=seed + number, motion=moving)


def _plan(audio, face, motion: str, seed: int, fps: int):
    """plan_motion, its refusals as PipelineErrors."""
    from .motion import plan_motion

    try:
        return plan_motion(audio, face, motion, seed=seed, fps=fps)
    except ValueError as exc:
        raise PipelineError(str(exc), PIPELINE_FAILED) from exc


def moving_photo(image: np.ndarray, face: Face, audio, motion: str | None, seed: int, fps: int):
    """The photo moving with the speech (a motion_warp.MotionSource), or None for a still head."""
    from .motion import NONE, MotionSource

    if not motion or motion == NONE:
        return None
    return MotionSource(image, face, _plan(audio, face, motion, seed, fps))


def build_engines(config: PipelineConfig) -> tuple[dict, str]:
    """Load the lip-sync engines this config asks for; a broken checkpoint falls back to viseme."""
    from .lipsync import viseme

    engines = {VISEME: viseme.VisemeEngine()}
    default = VISEME
    if config.lipsync_engine not in (AUTO_ENGINE, *ENGINES):
        raise PipelineError(f"LIPSYNC_ENGINE must be {', '.join((AUTO_ENGINE, *ENGINES[:-1]))} or {ENGINES[-1]}, "
                            f"not «{config.lipsync_engine}».", ENGINE_UNAVAILABLE)
    if config.lipsync_engine in (AUTO_ENGINE, WAV2LIP):
        from .lipsync import find_wav2lip_checkpoint

        checkpoint = find_wav2lip_checkpoint(config.weights_dir)
        if checkpoint is None:
            if config.lipsync_engine == WAV2LIP:
                log.warning("LIPSYNC_ENGINE=wav2lip but no checkpoint in %s; using viseme", config.weights_dir)
        else:
            try:
                from .lipsync.wav2lip import Wav2LipEngine  # sets torch's threads (0: the worker's cores)

                engines[WAV2LIP] = Wav2LipEngine(checkpoint, threads=config.torch_threads,
                                                   precision=config.wav2lip_precision)
                default = WAV2LIP
            except Exception as exc:  # a corrupt file must not kill the worker
                log.warning("Wav2Lip checkpoint unusable, falling back to viseme: %s", exc)
    return engines, default


def build_pipeline(config: PipelineConfig) -> Pipeline:
    """Everything heavy is loaded here, once per worker process."""
    from .tts.registry import build_registry

    tts = build_registry(config.tts_backend, remote_url=config.tts_remote_url,
                         remote_token=config.tts_remote_token, weights_dir=config.weights_dir,
                         remote_rate_field=config.tts_remote_rate_field)
    engines, default = build_engines(config)
    pipeline = Pipeline(tts=tts, engines=engines, default_engine=default, max_speech_seconds=config.max_speech_seconds)
    pipeline.warm_up()
    return pipeline

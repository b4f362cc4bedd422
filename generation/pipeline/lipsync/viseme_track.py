"""Speech -> per-frame mouth parameters (open, spread, round) and blinks, for the viseme engine.

Two sources, one output: espeak-ng phoneme timings when the TTS knows them (co-articulated with
Cohen-Massaro style dominance functions), else the audio itself (band energy for opening, spectral
centroid for rounding/spreading). Both are then smoothed with attack/release and sampled with a
small lead, because real lips move a few tens of milliseconds before the sound they shape.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import SAMPLE_RATE, Audio, Phoneme, frame_count
from . import visemes_table as T
from .phoneme_timing import refine_boundaries

# Analysis grid
RATE = 200  # parameter curves are built at this many points per second, then sampled per frame
LEAD = 0.02  # lips lead the sound by this many seconds (phoneme edges are on the audio already: 0.04 showed a «м» closure a frame early)
ATTACK = 0.018  # one-pole time constant (s) while a parameter rises
RELEASE = 0.035  # ... and while it falls: lips close a little slower than they open

# Co-articulation (dominance functions): D(t) = alpha * exp(-distance_outside_segment / tau), with
# (alpha_open, alpha_shape, tau) per kind of sound. Consonants barely hold the lips' shape, so a
# vowel's rounding or spreading carries over the consonants around it, as it does in speech («стул»
# is rounded from its «с»).
DOMINANCE = {
    T.VOWEL: (1.0, 1.0, 0.06),
    T.CLOSURE: (0.3, 0.12, 0.03),  # shut by the closure gate instead; weak here so the vowels between m-s still open
    T.LABIODENTAL: (0.9, 0.12, 0.035),  # nearly shut, the lower lip tucked by its own gate
    T.CONSONANT: (0.45, 0.06, 0.05),
    # a pause shuts the lips, but from its own edge on (tau 0.03): with 0.06 it pulled a phrase's last
    # vowel to 40 % of its opening and its rounding to half
    T.PAUSE: (3.0, 1.0, 0.03),
}
# Gates: 1 over the middle of a segment (HOLD share of it, at least MIN_HOLD s), easing to 0 over
# RAMP share of it plus RAMP_EXTRA s on each side. The bilabial hold is short: espeak's Russian
# vowels between two m-s last 40-60 ms, and a longer closure would swallow them.
CLOSURE_HOLD, CLOSURE_MIN_HOLD, CLOSURE_RAMP, CLOSURE_RAMP_EXTRA = 0.4, 0.03, 0.15, 0.008
TUCK_HOLD, TUCK_MIN_HOLD, TUCK_RAMP, TUCK_RAMP_EXTRA = 0.3, 0.02, 0.25, 0.015
PAUSE_SHUT_AFTER, PAUSE_OPEN_BEFORE, PAUSE_RAMP = 0.05, 0.03, 0.03  # s: a pause shuts the lips this long after it starts
TUCK_SHUT = 0.75  # share of the opening a tucked lower lip takes away (it rests on the upper teeth)
TONGUE_HOLD, TONGUE_MIN_HOLD, TONGUE_RAMP, TONGUE_RAMP_EXTRA = 0.3, 0.015, 0.3, 0.02
# Every vowel reaches at least this share of its (stressed) target opening somewhere in it, added as
# a smooth bump over the vowel (PEAK_PAD s wider each side): co-articulation and smoothing must not
# swallow a short vowel between closures.
MIN_PEAK = 0.85
MIN_SHAPE_PEAK = 1.0  # ... and all of its rounding or spreading
PEAK_PAD = 0.015
# Lips round (or spread) ahead of a vowel and hold it after, more than the jaw does: the shape floor
# eases in and out over this many seconds outside the vowel (with PEAK_PAD a 40-60 ms «у» showed its
# full rounding in no 25 fps frame)
SHAPE_PAD = 0.04
REST = (0.0, 0.0, 0.0)  # (open, spread, round) of a closed, relaxed mouth
STRIP = T.STRIP
PAUSE_SYMBOLS = T.PAUSE_SYMBOLS

# Audio fallback
STFT_WINDOW = 512  # 32 ms at 16 kHz
OPEN_BAND = (300.0, 2500.0)  # F1/F2 region: loud for vowels, weak for nasals and closures
CENTROID_BAND = (200.0, 4000.0)
DYNAMIC_RANGE_DB = 30.0  # band level this far under the loud speech level counts as closed
SILENCE_DB = -60.0  # band level (dB re full scale) under which nothing is speech
GATE_DB = 4.0  # ... and this much above that floor before the lips part at all
OPEN_GAMMA = 1.3  # compress quiet speech so consonant mumbles stay small
CENTROID_GAIN = 0.9  # how strongly centroid z-scores turn into spread/round

# Blinks
BLINK_INTERVAL = (2.2, 5.5)  # seconds between blinks, uniform
BLINK_FIRST = (0.6, 2.0)  # first blink after this many seconds
BLINK_CLOSE = 0.07  # lid down time (s)
BLINK_HOLD = 0.03
BLINK_OPEN = 0.12  # lids come up slower than they drop

@dataclass
class MouthTrack:
    """Per-frame mouth parameters in [0, 1] plus blink closure in [0, 1].

    `tuck` (lower lip under the upper teeth, ф/в), `press` (lips squeezed, м/п/б) and `tongue` (the
    tongue tip up at the teeth or the ridge, т/д/н/л/р) are 0 without phoneme timings."""

    open: np.ndarray
    spread: np.ndarray
    round: np.ndarray
    blink: np.ndarray
    source: str  # "phonemes" | "audio"
    tuck: np.ndarray | None = None
    press: np.ndarray | None = None
    tongue: np.ndarray | None = None

    def __post_init__(self):
        for name in ("tuck", "press", "tongue"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(len(self.open)))

    def __len__(self) -> int:
        return len(self.open)

    def params(self, i: int) -> tuple[float, float, float, float]:
        """(open, spread, round, blink) of frame i."""
        return float(self.open[i]), float(self.spread[i]), float(self.round[i]), float(self.blink[i])


def classify(symbol: str, language: str | None = None) -> tuple[tuple[float, float, float], tuple[float, float], float]:
    """Targets (open, spread, round), dominance (open, shape) and tau of an espeak mnemonic."""
    vis = T.viseme(symbol, language)
    alpha_open, alpha_shape, tau = DOMINANCE[vis.kind]
    return (vis.open, vis.spread, vis.round), (alpha_open, alpha_shape), tau


def grid(duration: float) -> np.ndarray:
    """Times (s) of the analysis grid covering `duration` plus the lead."""
    return np.arange(int(np.ceil((duration + LEAD) * RATE)) + 2) / RATE


def vowel_open(p: Phoneme, language: str | None) -> float:
    """Target opening of a vowel phoneme, scaled by its stress."""
    return T.viseme(p.symbol, language).open * T.stress_gain(p.stress, language)


def phoneme_curves(phonemes: list[Phoneme], times: np.ndarray, language: str | None = None) -> np.ndarray:
    """(3, T) co-articulated open/spread/round from phoneme segments via dominance functions."""
    # Leading and trailing rest: silence before the first and after the last phoneme
    start = min((p.start for p in phonemes), default=0.0)
    end = max((p.end for p in phonemes), default=0.0)
    segments = [Phoneme(-1.0, start, "_")] + sorted(phonemes, key=lambda p: p.start) + [Phoneme(end, times[-1] + 1, "_")]
    num = np.zeros((3, len(times)))
    den = np.full((3, len(times)), 1e-9)
    for seg in segments:
        if seg.end <= seg.start:
            continue
        target, (alpha_open, alpha_shape), tau = classify(seg.symbol, language)
        if T.viseme(seg.symbol, language).kind == T.VOWEL:
            target = (vowel_open(seg, language), *target[1:])
        distance = np.maximum(seg.start - times, 0.0) + np.maximum(times - seg.end, 0.0)
        weight = np.exp(-distance / tau)
        for k, alpha in enumerate((alpha_open, alpha_shape, alpha_shape)):
            num[k] += alpha * weight * target[k]
            den[k] += alpha * weight
    return num / den


def segment_gate(segments, times: np.ndarray, hold: float, min_hold: float, ramp: float,
                 ramp_extra: float) -> np.ndarray:
    """(T,) max over (segment, strength) of a plateau over the segment's middle easing to 0 past it."""
    gate = np.zeros(len(times))
    for p, strength in segments:
        if p.end <= p.start or strength <= 0:
            continue
        length = p.end - p.start
        half = max(hold * length, min_hold) / 2
        centre = (p.start + p.end) / 2
        width = ramp * length + ramp_extra
        distance = np.maximum(centre - half - times, 0.0) + np.maximum(times - centre - half, 0.0)
        gate = np.maximum(gate, strength * np.cos(np.clip(distance / width, 0, 1) * np.pi / 2) ** 2)
    return gate


def closure_gate(phonemes: list[Phoneme], times: np.ndarray, language: str | None = None) -> np.ndarray:
    """(T,) 1 where the lips must be shut (mid m, b, p), easing to 0 just past the segment."""
    shut = [(p, 1.0) for p in phonemes if T.viseme(p.symbol, language).kind == T.CLOSURE]
    return segment_gate(shut, times, CLOSURE_HOLD, CLOSURE_MIN_HOLD, CLOSURE_RAMP, CLOSURE_RAMP_EXTRA)


def tuck_gate(phonemes: list[Phoneme], times: np.ndarray, language: str | None = None) -> np.ndarray:
    """(T,) lower lip under the upper teeth (f, v)."""
    segs = [(p, T.viseme(p.symbol, language).tuck) for p in phonemes]
    return segment_gate(segs, times, TUCK_HOLD, TUCK_MIN_HOLD, TUCK_RAMP, TUCK_RAMP_EXTRA)


def tongue_gate(phonemes: list[Phoneme], times: np.ndarray, language: str | None = None) -> np.ndarray:
    """(T,) tongue tip up at the teeth or the ridge (t d n l r ...)."""
    segs = [(p, T.viseme(p.symbol, language).tongue) for p in phonemes]
    return segment_gate(segs, times, TONGUE_HOLD, TONGUE_MIN_HOLD, TONGUE_RAMP, TONGUE_RAMP_EXTRA)


def pause_gate(phonemes: list[Phoneme], times: np.ndarray, language: str | None = None) -> np.ndarray:
    """(T,) 1 inside pauses and the silence around the speech (past their first and last few ms)."""
    sounds = [p for p in phonemes if T.viseme(p.symbol, language).kind != T.PAUSE]
    if not sounds:
        return np.ones(len(times))
    quiet = [p for p in phonemes if T.viseme(p.symbol, language).kind == T.PAUSE]
    quiet += [Phoneme(-10.0, sounds[0].start, "_"), Phoneme(sounds[-1].end, times[-1] + 10.0, "_")]
    inner = [(Phoneme(p.start + PAUSE_SHUT_AFTER, p.end - PAUSE_OPEN_BEFORE, p.symbol), 1.0) for p in quiet]
    return segment_gate(inner, times, 1.0, 0.0, 0.0, PAUSE_RAMP)


def vowel_floor(curves: np.ndarray, phonemes: list[Phoneme], times: np.ndarray, language: str | None) -> np.ndarray:
    """(3, T) curves raised so every vowel reaches MIN_PEAK of its opening (MIN_SHAPE_PEAK of its
    spreading and rounding) somewhere inside it."""
    out = curves.copy()
    for p in phonemes:
        vis = T.viseme(p.symbol, language)
        inside = (times >= p.start) & (times <= p.end)
        if vis.kind != T.VOWEL or p.end <= p.start or not inside.any():
            continue
        wanted = (MIN_PEAK * vowel_open(p, language), MIN_SHAPE_PEAK * vis.spread, MIN_SHAPE_PEAK * vis.round)
        for k, want in enumerate(wanted):
            pad = PEAK_PAD if k == 0 else SHAPE_PAD
            x = np.clip((times - p.start + pad) / (p.end - p.start + 2 * pad), 0, 1)
            if k == 0:  # the jaw: one smooth bump peaking mid-vowel
                bump = np.sin(np.pi * x) ** 2
            else:  # the lips' shape: flat over the vowel itself, easing out over the pads on both sides
                span = (p.end - p.start + 2 * pad) / (2 * pad)
                bump = np.minimum(np.sin(np.pi * np.clip(x * span, 0, 0.5)) ** 2,
                                  np.sin(np.pi * np.clip((1 - x) * span, 0, 0.5)) ** 2)
            lack = want - float(out[k, inside].max())
            if lack > 0:
                out[k] += lack * bump
    return out


def band_spectrogram(samples: np.ndarray, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Power spectrogram (frames, bins) with a Hann window centred on each hop, and bin freqs."""
    pad = STFT_WINDOW // 2
    x = np.pad(np.asarray(samples, dtype=np.float32), (pad, pad + hop))
    count = max(1, (len(x) - STFT_WINDOW) // hop + 1)
    idx = np.arange(STFT_WINDOW)[None, :] + hop * np.arange(count)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(STFT_WINDOW).astype(np.float32), axis=1)) ** 2
    return spec, np.fft.rfftfreq(STFT_WINDOW, 1.0 / SAMPLE_RATE)


def audio_curves(samples: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(3, T) open/spread/round estimated from the audio alone."""
    hop = SAMPLE_RATE // RATE
    spec, freqs = band_spectrogram(samples, hop)
    band = (freqs >= OPEN_BAND[0]) & (freqs < OPEN_BAND[1])
    level = 10 * np.log10(spec[:, band].sum(axis=1) + 1e-10)
    loud = np.percentile(level, 95) if len(level) else 0.0
    floor = max(loud - DYNAMIC_RANGE_DB, SILENCE_DB)  # absolute floor: digital silence never opens
    opening = np.clip((level - floor - GATE_DB) / max(loud - floor - GATE_DB, 1e-6), 0, 1) ** OPEN_GAMMA

    cband = (freqs >= CENTROID_BAND[0]) & (freqs < CENTROID_BAND[1])
    power = spec[:, cband]
    centroid = (power * freqs[cband]).sum(axis=1) / (power.sum(axis=1) + 1e-10)
    voiced = opening > 0.2
    if voiced.sum() >= 5:
        mu, sd = np.median(centroid[voiced]), centroid[voiced].std() + 1e-6
        z = (centroid - mu) / sd
    else:
        z = np.zeros_like(centroid)
    spread = np.clip(0.25 + CENTROID_GAIN * 0.5 * z, 0, 1) * np.minimum(opening * 2, 1)
    rounding = np.clip(-CENTROID_GAIN * 0.5 * z, 0, 1) * np.minimum(opening * 2, 1)
    curves = np.stack([opening, spread, rounding])
    # spectrogram frame j is centred at j / RATE seconds, exactly the grid; pad/cut to its length
    out = np.zeros((3, len(times)))
    n = min(len(times), curves.shape[1])
    out[:, :n] = curves[:, :n]
    return out


def loudness_weight(samples: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(T,) factor 0.75..1.05 from the speech level, so stressed syllables open a little wider."""
    curves = audio_curves(samples, times)
    return 0.75 + 0.3 * np.clip(curves[0] * 1.4, 0, 1)


def attack_release(curve: np.ndarray, attack: float = ATTACK, release: float = RELEASE) -> np.ndarray:
    """One-pole smoothing per row with a faster time constant rising than falling."""
    up, down = 1 - np.exp(-1.0 / (RATE * attack)), 1 - np.exp(-1.0 / (RATE * release))
    out = np.empty_like(curve)
    state = curve[..., 0].copy()
    for t in range(curve.shape[-1]):
        x = curve[..., t]
        state += np.where(x > state, up, down) * (x - state)
        out[..., t] = state
    return out


def sample_frames(curves: np.ndarray, num_frames: int, fps: int) -> np.ndarray:
    """(C, num_frames): each frame averages the curve over its exposure, shifted by the lead."""
    half = max(1, int(round(RATE / fps / 2)))
    kernel = np.ones(2 * half + 1) / (2 * half + 1)
    padded = np.pad(curves, ((0, 0), (half, half)), mode="edge")
    box = np.stack([np.convolve(row, kernel, mode="valid") for row in padded])
    idx = np.clip(np.round((np.arange(num_frames) / fps + LEAD) * RATE).astype(int), 0, box.shape[1] - 1)
    return box[:, idx]


def closure_frames(phonemes: list[Phoneme], num_frames: int, fps: int, language: str | None) -> np.ndarray:
    """The frame showing the middle of each m/b/p (the lead included), where the lips must meet.

    espeak's Russian п lasts 25-35 ms, less than a frame: averaged over the frame's exposure with
    the vowels round it, its closure came out a fifth open, and dlib read the lips closed at only
    21 % (photo) and 57 % (video avatar) of Russian bilabials (bench/video_avatar_realism.py); each
    closure now shuts its own frame.
    """
    middles = [(p.start + p.end) / 2 for p in phonemes if T.viseme(p.symbol, language).kind == T.CLOSURE]
    frames = np.round((np.array(middles, np.float64) - LEAD) * fps).astype(int)
    return frames[(frames >= 0) & (frames < num_frames)]


def blink_curve(num_frames: int, fps: int, seed: int) -> np.ndarray:
    """Eyelid closure per frame: quick natural blinks every few seconds, fixed by the seed."""
    rng = np.random.default_rng(seed)
    duration = num_frames / fps
    out = np.zeros(num_frames)
    t = np.arange(num_frames) / fps
    start = rng.uniform(*BLINK_FIRST)
    while start < duration:
        rel = t - start
        down = np.clip(rel / BLINK_CLOSE, 0, 1)
        up = np.clip(1 - (rel - BLINK_CLOSE - BLINK_HOLD) / BLINK_OPEN, 0, 1)
        shape = np.where(rel < BLINK_CLOSE, down, up) * (rel >= 0)
        out = np.maximum(out, np.sin(shape * np.pi / 2) ** 2)
        start += rng.uniform(*BLINK_INTERVAL)
    return out


def mouth_track(audio: Audio, fps: int, seed: int = 0, language: str | None = None) -> MouthTrack:
    """Per-frame mouth parameters for `audio`, from its phonemes when present, else its samples.

    `language` picks the viseme table (ru, kk, en); None tells it from espeak's mnemonics."""
    num_frames = frame_count(len(audio.samples), fps)
    times = grid(num_frames / fps)
    # bare modifiers (espeak-ng ru/kk report palatalisation ";" as its own event) shape nothing
    spoken = [p for p in (audio.phonemes or []) if p.end > p.start and (p.symbol.strip(STRIP + "_") or p.symbol.startswith("_"))]
    if any(T.viseme(p.symbol).kind != T.PAUSE for p in spoken):
        language = language or T.guess_language(p.symbol for p in spoken)
        spoken = refine_boundaries(spoken, audio.samples, language)
        curves = phoneme_curves(spoken, times, language)
        curves[0] *= loudness_weight(audio.samples, times)
        shut = pause_gate(spoken, times, language)
        curves[1:] *= 1 - shut  # the lips relax in a pause at the release rate, not by co-articulation's tail
        curves = np.clip(attack_release(np.clip(curves, 0, 1)), 0, 1)
        curves = np.clip(vowel_floor(curves, spoken, times, language), 0, 1)
        press = closure_gate(spoken, times, language)
        tuck = tuck_gate(spoken, times, language)
        curves[0] *= (1 - press) * (1 - TUCK_SHUT * tuck) * (1 - shut)  # after smoothing, so the lips really meet
        extra = np.stack([tuck, press, tongue_gate(spoken, times, language)])
        framed = sample_frames(np.vstack([curves, extra]), num_frames, fps)
        framed[0, closure_frames(spoken, num_frames, fps, language)] = 0.0  # the lips meet, if only for a frame
        source = "phonemes"
    else:
        curves = np.clip(attack_release(np.clip(audio_curves(audio.samples, times), 0, 1)), 0, 1)
        framed = np.vstack([sample_frames(curves, num_frames, fps), np.zeros((3, num_frames))])
        source = "audio"
    return MouthTrack(framed[0], framed[1], framed[2], blink_curve(num_frames, fps, seed), source,
                      tuck=framed[3], press=framed[4], tongue=framed[5])

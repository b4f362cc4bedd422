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

# Analysis grid
RATE = 200  # parameter curves are built at this many points per second, then sampled per frame
LEAD = 0.04  # lips lead the sound by this many seconds
ATTACK = 0.018  # one-pole time constant (s) while a parameter rises
RELEASE = 0.035  # ... and while it falls: lips close a little slower than they open

# Co-articulation (dominance functions): D(t) = alpha * exp(-distance_outside_segment / tau)
VOWEL_TAU = 0.06
CONSONANT_TAU = 0.05
CLOSURE_TAU = 0.03
CLOSURE_HOLD = 0.045  # ... and stay shut at least this long, so one 25 fps frame shows it
CLOSURE_RAMP = 0.012  # m/b/p: the closure eases out this many seconds past the segment
REST = (0.0, 0.0, 0.0)  # (open, spread, round) of a closed, relaxed mouth

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

# Phoneme classes: (open, spread, round), and (alpha_open, alpha_shape, tau). Keys are espeak-ng
# mnemonics with stress/length marks stripped; unknown symbols fall back by their first letter.
VOWELS = {
    "a": (0.95, 0.25, 0.0), "A": (0.95, 0.1, 0.0), "&": (0.85, 0.45, 0.0), "aa": (0.95, 0.2, 0.0),
    "V": (0.7, 0.15, 0.0), "0": (0.75, 0.0, 0.45), "Q": (0.75, 0.0, 0.45),
    "E": (0.6, 0.55, 0.0), "e": (0.5, 0.65, 0.0), "@": (0.4, 0.15, 0.0), "3": (0.45, 0.2, 0.1),
    "I": (0.32, 0.75, 0.0), "i": (0.28, 0.9, 0.0), "y": (0.25, 0.0, 0.85), "Y": (0.3, 0.0, 0.7),
    "1": (0.3, 0.35, 0.0), "I#": (0.3, 0.5, 0.0), "9": (0.45, 0.0, 0.55), "8": (0.4, 0.0, 0.5),
    "o": (0.6, 0.0, 0.8), "O": (0.72, 0.0, 0.6), "u": (0.25, 0.0, 1.0), "U": (0.3, 0.0, 0.85),
}
CONSONANTS = {
    # bilabials close the lips whatever surrounds them
    "m": (0.0, 0.0, 0.0), "b": (0.0, 0.0, 0.0), "p": (0.0, 0.0, 0.0),
    # labiodentals: lower lip up against the upper teeth
    "f": (0.1, 0.15, 0.0), "v": (0.1, 0.15, 0.0),
    # w is a rounded glide
    "w": (0.18, 0.0, 0.95),
    # sibilants: teeth nearly together; postalveolars pout a little
    "s": (0.12, 0.35, 0.0), "z": (0.12, 0.35, 0.0), "T": (0.16, 0.2, 0.0), "D": (0.16, 0.2, 0.0),
    "S": (0.14, 0.0, 0.4), "Z": (0.14, 0.0, 0.4), "tS": (0.14, 0.0, 0.4), "dZ": (0.14, 0.0, 0.4),
    "ts": (0.12, 0.3, 0.0), "C": (0.14, 0.4, 0.0), "j": (0.2, 0.55, 0.0),
}
DEFAULT_CONSONANT = (0.25, 0.1, 0.0)  # t d n l r k g h x ...: medium-small, shape from neighbours
ALPHA_VOWEL = (1.0, 1.0)
ALPHA_CLOSURE = (0.3, 0.3)  # shut by `closure_gate` instead; weak here so short vowels between m-s still open
ALPHA_CONSONANT = (0.45, 0.25)  # lingual consonants barely constrain the lips
ALPHA_PAUSE = (4.0, 2.0)
PAUSE_SYMBOLS = {"_", "", "_:", "_!", "||", "|"}
STRIP = "'\",%=:;!^#~-"


@dataclass
class MouthTrack:
    """Per-frame mouth parameters in [0, 1] plus blink closure in [0, 1]."""

    open: np.ndarray
    spread: np.ndarray
    round: np.ndarray
    blink: np.ndarray
    source: str  # "phonemes" | "audio"

    def __len__(self) -> int:
        return len(self.open)

    def params(self, i: int) -> tuple[float, float, float, float]:
        """(open, spread, round, blink) of frame i."""
        return float(self.open[i]), float(self.spread[i]), float(self.round[i]), float(self.blink[i])


def classify(symbol: str) -> tuple[tuple[float, float, float], tuple[float, float], float]:
    """Targets (open, spread, round), dominance (open, shape) and tau of an espeak mnemonic."""
    raw = symbol.strip()
    if raw in PAUSE_SYMBOLS or raw.startswith("_"):
        return REST, ALPHA_PAUSE, VOWEL_TAU
    bare = raw.strip(STRIP) or raw
    for key in (raw, bare, bare[:2], bare[:1]):
        if key in CONSONANTS:
            if key in ("m", "b", "p"):
                return CONSONANTS[key], ALPHA_CLOSURE, CLOSURE_TAU
            return CONSONANTS[key], ALPHA_CONSONANT, CONSONANT_TAU
        if key in VOWELS:
            return VOWELS[key], ALPHA_VOWEL, VOWEL_TAU
    if bare[:1].lower() in "aeiouy":
        return VOWELS.get(bare[:1].lower(), VOWELS["@"]), ALPHA_VOWEL, VOWEL_TAU
    return DEFAULT_CONSONANT, ALPHA_CONSONANT, CONSONANT_TAU


def grid(duration: float) -> np.ndarray:
    """Times (s) of the analysis grid covering `duration` plus the lead."""
    return np.arange(int(np.ceil((duration + LEAD) * RATE)) + 2) / RATE


def phoneme_curves(phonemes: list[Phoneme], times: np.ndarray) -> np.ndarray:
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
        target, (alpha_open, alpha_shape), tau = classify(seg.symbol)
        distance = np.maximum(seg.start - times, 0.0) + np.maximum(times - seg.end, 0.0)
        weight = np.exp(-distance / tau)
        for k, alpha in enumerate((alpha_open, alpha_shape, alpha_shape)):
            num[k] += alpha * weight * target[k]
            den[k] += alpha * weight
    return num / den


def closure_gate(phonemes: list[Phoneme], times: np.ndarray) -> np.ndarray:
    """(T,) 1 where the lips must be shut (mid m, b, p), easing to 0 just past the segment."""
    gate = np.zeros(len(times))
    for p in phonemes:
        bare = p.symbol.strip(STRIP)
        if bare[:1] in ("m", "b", "p") and p.end > p.start:
            # shut over the middle half; espeak's vowels next to a nasal can be 30 ms short, so
            # the ramps stay mostly inside the consonant instead of eating the vowel
            half = max(0.25 * (p.end - p.start), CLOSURE_HOLD / 2)
            centre = (p.start + p.end) / 2
            ramp = 0.25 * (p.end - p.start) + CLOSURE_RAMP
            distance = np.maximum(centre - half - times, 0.0) + np.maximum(times - centre - half, 0.0)
            gate = np.maximum(gate, np.cos(np.clip(distance / ramp, 0, 1) * np.pi / 2) ** 2)
    return gate


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


def mouth_track(audio: Audio, fps: int, seed: int = 0) -> MouthTrack:
    """Per-frame mouth parameters for `audio`, from its phonemes when present, else its samples."""
    num_frames = frame_count(len(audio.samples), fps)
    times = grid(num_frames / fps)
    # bare modifiers (espeak-ng ru/kk report palatalisation ";" as its own event) shape nothing
    spoken = [p for p in (audio.phonemes or []) if p.end > p.start and (p.symbol.strip(STRIP + "_") or p.symbol.startswith("_"))]
    if any(classify(p.symbol)[1] != ALPHA_PAUSE for p in spoken):
        curves = phoneme_curves(spoken, times)
        curves[0] *= loudness_weight(audio.samples, times)
        source = "phonemes"
    else:
        curves = audio_curves(audio.samples, times)
        source = "audio"
    curves = np.clip(attack_release(np.clip(curves, 0, 1)), 0, 1)
    if source == "phonemes":
        curves[0] *= 1 - closure_gate(spoken, times)  # after smoothing, so the lips really meet
    framed = sample_frames(curves, num_frames, fps)
    return MouthTrack(framed[0], framed[1], framed[2], blink_curve(num_frames, fps, seed), source)

"""Photo avatars that look alive: head sway, nods and tilts, brow raises, blinks and breathing.

`plan_motion` turns the speech into per-frame parameters (pure numbers, in face widths and degrees):
an idle sway that never repeats (three sines of seeded, unrelated frequencies per axis, slowed in
pauses), beat nods and small tilts on stressed syllables (peaks of the RMS envelope and of the
autocorrelation pitch), a settling nod and a new resting pose at each phrase end, brow raises on
emphasis, blinks drawn towards phrase boundaries, and an inhale (shoulders rise) in long pauses.
`MotionSource` (motion_warp.py) plays a plan on a photo through a smooth warp field that moves the
head and neck only, with the same reading interface as clip.ClipReader.

Levels: NONE is today's still head (and today's blinks), SUBTLE the default, LIVELY about twice as much.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .lipsync.viseme_track import BLINK_CLOSE, BLINK_HOLD, BLINK_OPEN, blink_curve
from .motion_warp import MotionSource  # noqa: F401  (the frame source lives beside the plan)
from .types import DEFAULT_MOTION, FPS, MOTION_LEVELS, SAMPLE_RATE, Audio, Face, frame_count

NONE, SUBTLE, LIVELY = MOTION_LEVELS
DEFAULT_LEVEL = DEFAULT_MOTION


@dataclass(frozen=True)
class Amplitudes:
    """How much of each movement a level allows (face widths = jaw width; degrees of roll)."""

    sway_roll: float = 0.0  # deg, standard deviation of the idle roll
    sway_shift: float = 0.0  # fw, standard deviation of the idle drift, per axis
    pause_speed: float = 1.0  # the idle sway runs at this share of its speed in pauses
    jitter: float = 0.0  # fw, speech-driven small movement (scaled by loudness)
    nod: float = 0.0  # fw the head dips on a full-strength stressed syllable
    tilt: float = 0.0  # deg of roll on a stressed syllable
    phrase_nod: float = 0.0  # fw the head settles at a phrase end
    pose: float = 0.0  # deg of roll (and 0.012x fw of sideways lean) a new phrase's resting pose may differ by
    pitch_follow: float = 0.0  # fw the head rises per standard deviation of the voice's pitch
    brow: float = 0.0  # fw the brows rise at a full raise
    brow_chance: float = 0.0  # share of stressed syllables that raise the brows
    breath: float = 0.0  # fw the shoulders rise on a full inhale
    gaze: float = 0.0  # eye widths the irises may look aside (a glance), at most
    sway_yaw: float = 0.0  # deg, standard deviation of the idle turn left and right (3D: depth parallax)
    nod_pitch: float = 0.0  # deg of pitch per face width of nod (a nod tips the face, not only slides it)


LEVELS: dict[str, Amplitudes] = {
    NONE: Amplitudes(),
    SUBTLE: Amplitudes(sway_roll=0.55, sway_shift=0.009, pause_speed=0.3, jitter=0.004, nod=0.016, tilt=0.45,
                       phrase_nod=0.018, pose=0.5, pitch_follow=0.006, brow=0.022, brow_chance=0.45, breath=0.01,
                       gaze=0.07, sway_yaw=2.5, nod_pitch=110.0),
    LIVELY: Amplitudes(sway_roll=1.0, sway_shift=0.016, pause_speed=0.35, jitter=0.008, nod=0.03, tilt=0.9,
                       phrase_nod=0.03, pose=0.9, pitch_follow=0.011, brow=0.035, brow_chance=0.7, breath=0.015,
                       gaze=0.1, sway_yaw=4.5, nod_pitch=110.0),
}

# Speech analysis (100 frames per second)
HOP = SAMPLE_RATE // 100
WINDOW = 400  # 25 ms RMS window
PITCH_WINDOW = 640  # 40 ms: two periods of an 80 Hz voice
PITCH_RANGE = (70.0, 400.0)  # Hz
VOICED_CORR = 0.45  # normalised autocorrelation peak that counts as voiced
RANGE_DB = 30.0  # under the loud level by this much: no speech
FLOOR_DB = -50.0  # ... and never speech under this level (dB full scale)
GAP_FILL = 0.18  # s: quieter stretches shorter than this are inside a word or between words
PAUSE_MIN = 0.25  # s: a quiet run at least this long is a pause (a phrase boundary)
LONG_PAUSE = 0.6  # s: long enough to breathe in
BEAT_SPACING = 0.45  # s between stressed syllables, at least
BEAT_SHARE = 0.4  # the most prominent share of syllable peaks are stressed
# Blinks
BLINK_GAP = 1.0  # s between two blinks, at least
BLINK_INTERVAL = (2.4, 5.5)  # s between blinks when nothing else calls for one
BLINK_AT_PHRASE_END = 0.75  # chance of a blink just after a phrase ends
BLINK_AT_PHRASE_START = 0.25
# Gaze: the eyes glance aside now and then and come back, quicker than the head (saccades)
GAZE_HOLD = (1.2, 3.5)  # s a gaze is held before the next glance
GAZE_AWAY_IN_SPEECH = 0.35  # chance that a glance while speaking leaves the camera (in pauses: twice that)
GAZE_MOVE = 0.05  # s a saccade takes


@dataclass
class MotionPlan:
    """Per-frame head, brow, blink and breath parameters; arrays of length `len(plan)`.

    roll: degrees (positive turns the head clockwise on screen), about the neck pivot
    shift: (n, 2) face widths, x right, y down; squash: (n,) share the face is foreshortened
    vertically by a nod; brow: 0..1 raise (times `brow_lift` face widths); blink: 0..1 eyelid closure
    (the viseme engine's MouthTrack.blink format); breath: face widths the shoulders rise;
    speech: True where someone speaks (pauses False); beats: frames of stressed syllables;
    gaze: (n, 2) eye widths the irises look aside (x right, y down) within the eye openings;
    yaw, pitch: degrees the head turns (positive: the nose moves right / down on screen), drawn with
    a depth proxy (motion_head.py), so they move the nose against the cheeks and foreshorten a nod.
    """

    level: str
    seed: int
    fps: int
    roll: np.ndarray
    shift: np.ndarray
    squash: np.ndarray
    brow: np.ndarray
    blink: np.ndarray
    breath: np.ndarray
    speech: np.ndarray
    brow_lift: float = 0.0
    beats: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    gaze: np.ndarray | None = None
    yaw: np.ndarray | None = None
    pitch: np.ndarray | None = None

    def __post_init__(self):
        if self.gaze is None:
            self.gaze = np.zeros((len(self.roll), 2))
        if self.yaw is None:
            self.yaw = np.zeros(len(self.roll))
        if self.pitch is None:
            self.pitch = np.zeros(len(self.roll))

    def __len__(self) -> int:
        return len(self.roll)

    @property
    def still(self) -> bool:
        """Nothing but blinks moves (level NONE)."""
        return not (np.any(self.roll) or np.any(self.shift) or np.any(self.squash) or np.any(self.breath)
                    or (self.brow_lift and np.any(self.brow)) or np.any(self.gaze) or np.any(self.yaw)
                    or np.any(self.pitch))


# ---- the speech ----

@dataclass
class SpeechFeatures:
    """What the head follows, at the video frame rate."""

    energy: np.ndarray  # 0..1 loudness over the speech's own range
    pitch: np.ndarray  # voice pitch, z-score of semitones over voiced frames (0 where unvoiced)
    voiced: np.ndarray
    speech: np.ndarray  # bool: speaking (short gaps inside phrases count as speech)


def _frames(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    pad = np.pad(x.astype(np.float32), (size // 2, size))
    count = max(1, (len(pad) - size) // hop + 1)
    return np.lib.stride_tricks.sliding_window_view(pad, size)[::hop][:count]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of the True runs, end exclusive."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along the first axis, `sigma` in samples, edges held."""
    if sigma < 0.3:
        return x.astype(np.float64)
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.pad(np.asarray(x, np.float64), [(r, r)] + [(0, 0)] * (np.ndim(x) - 1), mode="edge")
    if pad.ndim == 1:
        return np.convolve(pad, k, mode="valid")
    return np.stack([np.convolve(c, k, mode="valid") for c in pad.T], axis=1)


def speech_features(samples: np.ndarray, num_frames: int, fps: int) -> SpeechFeatures:
    """RMS envelope, autocorrelation pitch and speech/pause of 16 kHz samples, per video frame."""
    x = np.asarray(samples, np.float32)
    db = 10 * np.log10(np.mean(np.square(_frames(x, WINDOW, HOP), dtype=np.float64), axis=1) + 1e-10)
    loud = float(np.percentile(db, 95)) if len(db) else 0.0
    floor = max(loud - RANGE_DB, FLOOR_DB)
    active = db > floor
    for a, b in _runs(~active):  # short gaps belong to the phrase around them
        if a > 0 and b < len(active) and b - a < GAP_FILL * 100:
            active[a:b] = True
    energy = np.clip((db - floor) / max(loud - floor, 1e-6), 0, 1) * active
    # pitch: the normalised autocorrelation's highest peak within the voice's range
    win = _frames(x, PITCH_WINDOW, HOP)[: len(db)]
    win = (win - win.mean(axis=1, keepdims=True)) * np.hanning(PITCH_WINDOW).astype(np.float32)
    spec = np.fft.rfft(win, 2 * PITCH_WINDOW, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)
    lo, hi = int(SAMPLE_RATE / PITCH_RANGE[1]), int(SAMPLE_RATE / PITCH_RANGE[0])
    band = ac[:, lo:hi] / (ac[:, :1] + 1e-9)
    lag = np.argmax(band, axis=1) + lo
    voiced = (band.max(axis=1) > VOICED_CORR) & active & (energy > 0.2)
    semis = 12 * np.log2(SAMPLE_RATE / lag / 100.0)
    pitch = np.zeros(len(db))
    if voiced.sum() >= 10:
        ref = semis[voiced]
        pitch[voiced] = (semis[voiced] - np.median(ref)) / (ref.std() + 1.0)  # +1 semitone: a monotone stays calm
    # to the video rate: each frame averages its exposure
    t = np.clip(np.round((np.arange(num_frames) + 0.5) / fps * 100).astype(int), 0, len(db) - 1)
    e = _smooth(energy, 100 / fps / 2)[t]
    v = _smooth(voiced.astype(float), 100 / fps / 2)[t] > 0.5
    p = _smooth(pitch, 100 / fps / 2)[t] / np.maximum(_smooth(voiced.astype(float), 100 / fps / 2)[t], 1e-3)
    speech = _smooth(active.astype(float), 100 / fps / 2)[t] > 0.5
    for a, b in _runs(~speech):
        if a > 0 and b < num_frames and b - a < PAUSE_MIN * fps:
            speech[a:b] = True
    return SpeechFeatures(e, np.where(v, p, 0.0), v, speech)


def beats(feat: SpeechFeatures, fps: int) -> tuple[np.ndarray, np.ndarray]:
    """Stressed syllables: (frames, strength 0.5..1) from peaks of loudness plus pitch."""
    score = _smooth(feat.energy, 0.04 * fps) + 0.35 * np.clip(_smooth(feat.pitch, 0.04 * fps), -1, 2)
    inner = score[1:-1]
    peaks = np.flatnonzero((inner >= score[:-2]) & (inner > score[2:]) & feat.speech[1:-1]) + 1
    if len(peaks) == 0:
        return np.zeros(0, int), np.zeros(0)
    cut = np.quantile(score[peaks], 1 - BEAT_SHARE)
    chosen: list[int] = []
    for k in sorted(peaks[score[peaks] >= cut], key=lambda k: -score[k]):  # strongest first
        if all(abs(k - c) >= BEAT_SPACING * fps for c in chosen):
            chosen.append(int(k))
    chosen.sort()
    s = score[chosen]
    strength = 0.5 + 0.5 * (s - s.min()) / max(float(np.ptp(s)), 1e-6)
    return np.array(chosen, int), strength


# ---- shapes ----

def _pulse(t: np.ndarray, at: float, peak: float) -> np.ndarray:
    """A smooth bump starting at `at`: rises to 1 after `peak` s, then dies away (gamma shape)."""
    r = np.maximum(t - at, 0.0) / peak
    return r * r * np.exp(2 - 2 * r)


def _blink_shape(t: np.ndarray, at: float) -> np.ndarray:
    """Eyelid closure of one blink starting at `at` (the viseme engine's timing)."""
    rel = t - at
    down = np.clip(rel / BLINK_CLOSE, 0, 1)
    up = np.clip(1 - (rel - BLINK_CLOSE - BLINK_HOLD) / BLINK_OPEN, 0, 1)
    return np.sin(np.where(rel < BLINK_CLOSE, down, up) * (rel >= 0) * np.pi / 2) ** 2


def _sway(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance sum of three sines of unrelated frequencies (never repeats within minutes)."""
    out = np.zeros_like(t)
    for (lo, hi), amp in (((0.045, 0.08), 1.0), ((0.11, 0.18), 0.6), ((0.23, 0.37), 0.3)):
        out += amp * np.sin(2 * np.pi * rng.uniform(lo, hi) * t + rng.uniform(0, 2 * np.pi))
    return out / np.sqrt(0.5 * (1 + 0.36 + 0.09))


def blink_schedule(speech: np.ndarray, fps: int, rng: np.random.Generator) -> np.ndarray:
    """Eyelid closure per frame: blinks drawn towards phrase boundaries, else every few seconds."""
    n = len(speech)
    duration = n / fps
    wanted = []  # (time, priority)
    for a, b in _runs(~speech):
        if a > 0 and rng.random() < BLINK_AT_PHRASE_END:
            wanted.append((a / fps + rng.uniform(0.04, 0.25), 0))
        if b < n and rng.random() < BLINK_AT_PHRASE_START:
            wanted.append((b / fps - rng.uniform(0.1, 0.3), 1))
    times: list[float] = []
    for at, _ in sorted(wanted, key=lambda w: w[1]):
        if 0.3 < at < duration - 0.1 and all(abs(at - o) >= BLINK_GAP for o in times):
            times.append(at)
    times.sort()
    filled, last = [], -rng.uniform(0.5, 2.5)  # fill long stretches without a blink
    for nxt in times + [duration + BLINK_INTERVAL[1]]:
        at = last + rng.uniform(*BLINK_INTERVAL)
        while at < nxt - BLINK_GAP and at < duration - 0.1:
            filled.append(at)
            at += rng.uniform(*BLINK_INTERVAL)
        last = nxt
    t = np.arange(n) / fps
    out = np.zeros(n)
    for at in times + filled:
        out = np.maximum(out, _blink_shape(t, at))
    return out


# ---- the plan ----

def plan_motion(audio: Audio, face: Face | None, level: str = DEFAULT_LEVEL, seed: int = 0, fps: int = FPS) -> MotionPlan:
    """Per-frame motion for `audio` (one frame per 1/fps s, as the lip-sync engines count them),
    deterministic for (audio, level, seed, fps). `face` is the avatar's face, taken for symmetry
    with the engines: the plan is in face widths and degrees, MotionSource scales it to the photo.
    Unknown levels raise ValueError."""
    if level not in LEVELS:
        raise ValueError(f"unknown motion level {level!r}; one of {', '.join(LEVELS)}")
    amp = LEVELS[level]
    n = frame_count(len(audio.samples), fps)
    zeros = np.zeros(n)
    if level == NONE:  # exactly today's still head and today's blinks
        return MotionPlan(level, seed, fps, zeros, np.zeros((n, 2)), zeros.copy(), zeros.copy(),
                          blink_curve(n, fps, seed), zeros.copy(), np.zeros(n, bool))
    rng = np.random.default_rng([seed, 0x6d6f74])
    feat = speech_features(audio.samples, n, fps)
    t = np.arange(n) / fps
    speaking = _smooth(feat.speech.astype(float), 0.25 * fps)

    # idle sway on a clock that slows down in pauses
    clock = np.cumsum(amp.pause_speed + (1 - amp.pause_speed) * speaking) / fps
    roll = amp.sway_roll * _sway(clock, rng)
    shift = np.stack([amp.sway_shift * _sway(clock, rng), 0.6 * amp.sway_shift * _sway(clock, rng)], axis=1)

    # speech-driven: small syllable-rate movement scaled by loudness, head up with the pitch
    noise = rng.standard_normal((n, 3))
    band = _smooth(noise, 0.06 * fps) - _smooth(noise, 0.3 * fps)
    band /= band.std(axis=0) + 1e-9
    loudness = _smooth(feat.energy, 0.08 * fps)
    shift += amp.jitter * loudness[:, None] * band[:, :2]
    roll += 30 * amp.jitter * loudness * band[:, 2]
    shift[:, 1] -= amp.pitch_follow * _smooth(np.clip(feat.pitch, -2, 2.5), 0.12 * fps) * speaking

    # stressed syllables: a beat nod, a small tilt, sometimes the brows go up
    nod = np.zeros(n)
    brow = np.zeros(n)
    frames, strength = beats(feat, fps)
    for k, s in zip(frames, strength):
        at = k / fps - 0.08
        nod += amp.nod * s * _pulse(t, at, 0.13)
        roll += amp.tilt * s * rng.choice((-1, 1)) * _pulse(t, at, 0.2)
        if rng.random() < amp.brow_chance * (0.6 + 0.8 * (feat.pitch[k] > 0.5)):
            brow = np.maximum(brow, s * _pulse(t, at - 0.05, 0.16))

    # phrase ends: the head settles a little lower over the last syllable and stays there through
    # the pause; the next phrase lifts it again and starts from a new resting pose
    pause_runs = [(a, b) for a, b in _runs(~feat.speech) if a > 0]
    pose = np.zeros((n, 2))
    settle = np.zeros(n)
    held = np.zeros(2)
    for a, b in _runs(~feat.speech):
        if a > 0:
            settle[max(0, a - int(0.25 * fps)):max(a, b - int(0.1 * fps))] = 1.0
        if b < n:
            held = 0.5 * held + rng.normal(0, 1, 2)  # roll (deg) and sideways lean (fw), mean-reverting
            pose[max(0, b - int(0.15 * fps)):] = held
    pose = _smooth(pose, 0.35 * fps)
    nod += amp.phrase_nod * _smooth(settle, 0.12 * fps)
    roll += amp.pose * pose[:, 0]
    shift[:, 0] += amp.pose * 0.012 * pose[:, 1]
    shift[:, 1] += nod

    # long pauses: breathe in (shoulders rise), breathe out slowly while speaking
    inhale = np.zeros(n)
    for a, b in pause_runs + [(a, b) for a, b in _runs(~feat.speech) if a == 0]:
        if b - a >= LONG_PAUSE * fps:
            inhale[min(b, a + int(0.15 * fps)):b] = 1.0
    breath = amp.breath * _attack_release(inhale, 0.4 * fps, 0.7 * fps)
    blinks = blink_schedule(feat.speech, fps, rng)
    gaze = amp.gaze * glances(feat.speech, fps, rng)
    # 3D: the head turns a little as it sways sideways (drawn after the older parts, whose random
    # draws stay as they were) and a nod tips the face forward as it dips
    turn = np.random.default_rng([seed, 0x796177])
    yaw = amp.sway_yaw * (0.7 * _sway(clock, turn) + 0.3 * shift[:, 0] / max(amp.sway_shift, 1e-9))
    pitch = amp.nod_pitch * nod

    return MotionPlan(level, seed, fps, roll, shift, 0.5 * nod, np.clip(brow, 0, 1), blinks, breath,
                      feat.speech, amp.brow, frames, gaze, yaw, pitch)


def glances(speech: np.ndarray, fps: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) unit-scaled gaze: held, then a quick saccade aside or back; more often aside in pauses."""
    n = len(speech)
    target = np.zeros((n, 2))
    at, current = int(rng.uniform(*GAZE_HOLD) * fps), np.zeros(2)
    while at < n:
        away = GAZE_AWAY_IN_SPEECH * (1 if speech[at] else 2)
        if current.any() or rng.random() >= away:
            current = np.zeros(2)  # back to the camera
        else:
            angle = rng.uniform(0, 2 * np.pi)
            current = np.array([np.cos(angle), 0.4 * np.sin(angle)]) * rng.uniform(0.5, 1.0)  # mostly sideways
        target[at:] = current
        at += int(rng.uniform(*GAZE_HOLD) * fps)
    return _smooth(target, GAZE_MOVE * fps / 2)


def _attack_release(x: np.ndarray, rise: float, fall: float) -> np.ndarray:
    """One-pole follower with time constants in samples, smoothed once more so it eases in and out."""
    up, down = 1 - np.exp(-1 / max(rise, 1e-6)), 1 - np.exp(-1 / max(fall, 1e-6))
    out, state = np.empty(len(x)), 0.0
    for i, v in enumerate(x):
        state += (up if v > state else down) * (v - state)
        out[i] = state
    return _smooth(out, rise / 2)

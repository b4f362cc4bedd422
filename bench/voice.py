"""espeak-ng's prosody per language: pitch span, pauses and spectral balance, old settings against candidates.

Run: .venv/bin/python bench/voice.py [--all] [--plot DIR]
  --all: every candidate, not just the old and the chosen; --plot: pitch contours (old grey, new blue)
  per language as DIR/pitch-<lang>.png

Pitch comes from a plain autocorrelation tracker (librosa is not in the environment): 40 ms frames every
10 ms, F0 searched in 60-400 Hz, a frame voiced when its normalised autocorrelation peak is over 0.6 and
it is within 30 dB of the loudest frame. "span" is the middle 90 % of the voiced frames' F0
(5th to 95th percentile) in semitones: read speech by people spans about 8-12, espeak's default 4.7-6.3.
"jumps" is the share of voiced-to-voiced frame steps over 3 semitones (octave errors, warbles: lower is
better). Pauses are the longest silence in "A. B." and "A... B." through the project's own splitting.
"tilt" is the energy above 2 kHz against below it, in dB (more negative: duller, less buzzy).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generation.pipeline.audio import frame_rms, to_mono_float  # noqa: E402
from generation.pipeline.tts.espeak import ESPEAK_DEFAULTS, PROSODY, EspeakBackend, Prosody  # noqa: E402
from generation.pipeline.tts import text as splitting  # noqa: E402
from generation.pipeline.tts.text import synthesize_text  # noqa: E402
from tests.pauses import longest_pause  # noqa: E402

TEXTS = {
    "ru": "Сегодня хорошая погода, и мы пойдём гулять в парк. Вы знаете, где находится старый мост? "
          "Там растут высокие деревья, а летом цветут розы.",
    "kk": "Бүгін ауа райы жақсы, біз саябаққа серуендеуге барамыз. Ескі көпір қайда екенін білесіз бе? "
          "Онда биік ағаштар өседі, ал жазда раушандар гүлдейді.",
    "en": "The weather is lovely today, so we are going for a walk in the park. Do you know where the old "
          "bridge is? Tall trees grow there, and roses bloom in the summer.",
}
PAUSE_TEXTS = {"ru": ("Мы пришли домой. Было поздно.", "Мы пришли домой... Было поздно."),
               "kk": ("Біз үйге келдік. Кеш болды.", "Біз үйге келдік... Кеш болды."),
               "en": ("We came home. It was late.", "We came home... It was late.")}
CANDIDATES = [Prosody(range=r, pitch=p, wordgap=g) for r in (50, 70, 85, 100) for p in (45, 50) for g in (0, 1)]
FRAME, HOP, FMIN, FMAX = 0.04, 0.01, 60.0, 400.0


def pitch_track(x: np.ndarray, sr: int) -> np.ndarray:
    """F0 in Hz of each voiced frame (autocorrelation peak)."""
    n, hop = int(FRAME * sr), int(HOP * sr)
    lo, hi = int(sr / FMAX), int(sr / FMIN)
    loud = float(np.max(frame_rms(x, hop)))
    f0 = []
    for start in range(0, len(x) - n, hop):
        frame = x[start:start + n] - x[start:start + n].mean()
        if np.sqrt(np.mean(frame ** 2)) < loud * 10 ** (-30 / 20):
            f0.append(np.nan)
            continue
        spec = np.fft.rfft(frame * np.hanning(n), 2 * n)
        ac = np.fft.irfft(np.abs(spec) ** 2)[:n]
        ac /= ac[0] + 1e-12
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] < 0.6:
            f0.append(np.nan)
            continue
        a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]  # parabolic interpolation of the peak
        shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) else 0.0
        f0.append(sr / (lag + shift))
    return np.array(f0)


def tilt_db(x: np.ndarray, sr: int) -> float:
    """Energy above 2 kHz against below, dB."""
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    return float(10 * np.log10(power[freqs >= 2000].sum() / power[(freqs > 60) & (freqs < 2000)].sum()))


def measure(language: str, prosody: Prosody, voice: str | None = None, old_pauses: bool = False) -> dict:
    """The numbers of one language and setting; `old_pauses`: «...» paused like «.», as before issue 26."""
    if old_pauses:
        kept = splitting.ELLIPSIS_PAUSE_SECONDS
        splitting.ELLIPSIS_PAUSE_SECONDS = splitting.SENTENCE_PAUSE_SECONDS
        try:
            return measure(language, prosody, voice)
        finally:
            splitting.ELLIPSIS_PAUSE_SECONDS = kept
    tts = EspeakBackend({language: prosody})
    speech = synthesize_text(tts, TEXTS[language], language, voice)
    x, sr = to_mono_float(speech.samples), int(speech.sample_rate)
    f0 = pitch_track(x, sr)
    voiced = f0[~np.isnan(f0)]
    p5, p50, p95 = np.percentile(voiced, [5, 50, 95])
    steps = np.abs(12 * np.log2(f0[1:] / f0[:-1]))
    steps = steps[~np.isnan(steps)]
    stop, ellipsis = (longest_pause(synthesize_text(tts, t, language, voice)) for t in PAUSE_TEXTS[language])
    return {"span": 12 * np.log2(p95 / p5), "median": p50, "jumps": float(np.mean(steps > 3)),
            "stop": stop, "ellipsis": ellipsis, "tilt": tilt_db(x, sr), "seconds": len(x) / sr}


def contour(language: str, prosody: Prosody) -> np.ndarray:
    """Semitones relative to 100 Hz of every 10 ms frame (NaN where unvoiced)."""
    speech = synthesize_text(EspeakBackend({language: prosody}), TEXTS[language], language)
    f0 = pitch_track(to_mono_float(speech.samples), int(speech.sample_rate))
    with np.errstate(invalid="ignore"):  # NaN: unvoiced frames stay NaN
        return 12 * np.log2(f0 / 100.0)


def plot(language: str, old: np.ndarray, new: np.ndarray, path: Path) -> None:
    """Both contours on one picture (Pillow: the project never imports matplotlib)."""
    from PIL import Image, ImageDraw

    width, height, low, high = 1200, 300, -6.0, 18.0
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for st in range(int(low), int(high) + 1, 6):
        y = height - (st - low) / (high - low) * height
        draw.line([(0, y), (width, y)], fill=(225, 225, 225))
        draw.text((4, y - 12), f"{st:+d} st", fill=(120, 120, 120))
    frames = max(len(old), len(new))
    for values, colour in ((old, (150, 150, 150)), (new, (30, 90, 220))):
        for i, v in enumerate(values):
            if not np.isnan(v):
                x, y = i / frames * width, height - (v - low) / (high - low) * height
                draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=colour)
    draw.text((width - 330, 6), f"{language}: grey = espeak defaults, blue = tuned", fill=(0, 0, 0))
    image.save(path)


def row(label: str, m: dict) -> str:
    return (f"{label:34} {m['span']:6.1f} {m['median']:7.0f} {m['jumps']:6.1%} {m['stop']:6.2f} "
            f"{m['ellipsis']:6.2f} {m['tilt']:6.1f} {m['seconds']:6.2f}")


def main(show_all: bool, plot_dir: str = "") -> None:
    print(f"{'setting':34} {'span st':>6} {'F0 Hz':>7} {'jumps':>6} {'. s':>6} {'... s':>6} {'tilt dB':>6} "
          f"{'dur s':>6}")
    for language in TEXTS:
        print(f"-- {language}")
        old = measure(language, ESPEAK_DEFAULTS, old_pauses=True)
        print(row("old (espeak defaults, old pauses)", old))
        chosen = PROSODY[language]
        new = measure(language, chosen)
        print(row(f"new pitch {chosen.pitch} range {chosen.range} gap {chosen.wordgap}", new))
        for variant in ("+f3",):
            voice = ("en-us" if language == "en" else language) + variant
            print(row(f"  {variant} old", measure(language, ESPEAK_DEFAULTS, voice, old_pauses=True)))
            print(row(f"  {variant} new", measure(language, chosen, voice)))
        if show_all:
            for c in CANDIDATES:
                print(row(f"  pitch {c.pitch} range {c.range} gap {c.wordgap}", measure(language, c)))
        print(f"   span new/old {new['span'] / old['span']:.2f}x")
        if plot_dir:
            Path(plot_dir).mkdir(parents=True, exist_ok=True)
            plot(language, contour(language, ESPEAK_DEFAULTS), contour(language, chosen),
                 Path(plot_dir) / f"pitch-{language}.png")


if __name__ == "__main__":
    args = sys.argv[1:]
    main("--all" in args, args[args.index("--plot") + 1] if "--plot" in args else "")

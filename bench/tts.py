"""Time espeak synthesis of a ~10 s phrase per language, and the audio stage on its output.

Run: .venv/bin/python bench/tts.py [repeats]
"""
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generation.pipeline import audio
from generation.pipeline.tts import get_backend

PHRASES = {  # each about 10 s at the backend's speaking rate
    "ru": "Привет! Я говорящий аватар. Я умею произносить любой текст на русском, казахском и "
          "английском языках, а мои губы двигаются в такт речи. Напишите мне что-нибудь.",
    "kk": "Сәлеметсіз бе! Мен сөйлейтін аватармын. Мен орыс, қазақ және ағылшын тілдеріндегі кез "
          "келген мәтінді айта аламын. Маған бірдеңе жазыңыз, мен оны дауыстап оқимын.",
    "en": "Hello! I am a talking avatar. I can say any text in Russian, Kazakh or English, and my "
          "lips move in time with the speech. Type something and press the button to hear me.",
}


def best_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1e3


def main(repeats: int = 5) -> None:
    t = time.perf_counter()
    tts = get_backend("espeak")
    tts.synthesize("a", "en")
    print(f"espeak load + first call: {(time.perf_counter() - t) * 1e3:.1f} ms")
    print(f"{'lang':4} {'audio s':>8} {'synth ms':>9} {'x realtime':>11} {'prepare ms':>11} {'decode mp3 ms':>14}")
    for language, text in PHRASES.items():
        speech = tts.synthesize(text, language)
        seconds = len(speech.samples) / speech.sample_rate
        synth = best_ms(lambda t=text, lang=language: tts.synthesize(t, lang), repeats)
        prep = best_ms(lambda s=speech: audio.prepare(s), repeats)
        wav = audio.wav_bytes(speech.samples, speech.sample_rate)
        mp3 = subprocess.run([audio.ffmpeg_exe(), "-loglevel", "error", "-i", "pipe:0", "-f", "mp3", "pipe:1"],
                             input=wav, capture_output=True, check=True).stdout
        dec = best_ms(lambda m=mp3: audio.decode(m), repeats)
        print(f"{language:4} {seconds:8.2f} {synth:9.1f} {seconds * 1e3 / synth:11.0f} {prep:11.2f} {dec:14.1f}")
    # switching language reloads the dictionary: the worst case for one request
    switching = best_ms(lambda: [tts.synthesize(t, lang) for lang, t in PHRASES.items()], repeats) / 3
    print(f"mean per request when the language changes every time: {switching:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)

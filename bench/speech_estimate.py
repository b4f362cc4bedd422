"""Speech-length estimate against espeak-ng's measured speech, per language (MAX_SPEECH_SECONDS' basis).

    .venv/bin/python bench/speech_estimate.py
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generation.pipeline.tts.espeak import EspeakBackend  # noqa: E402
from generation.pipeline.tts.estimate import estimate_seconds  # noqa: E402
from generation.pipeline.tts.text import synthesize_text  # noqa: E402

TEXTS = {
    "ru": ["Привет! Как у тебя дела сегодня?", "Съешь же ещё этих мягких французских булок да выпей чаю.",
           "Электронная почта пришла вчера вечером, но я её ещё не прочитал.", "В 2024 году цены выросли на 5%.",
           "Звоните по номеру 8 800 555 35 35.", "Здравствуйте! Сегодня хорошая погода. " * 20, "1234567 " * 125],
    "kk": ["Сәлеметсіз бе! Бүгін ауа райы жақсы.", "Мен ертең таңертең жұмысқа барамын.",
           "2024 жылы біз жаңа үй салдық.", "Қазақстан — үлкен ел, оның астанасы Астана. " * 20, "1234567 " * 125],
    "en": ["Hello! How are you doing today?", "The quick brown fox jumps over the lazy dog.",
           "Please call us on 555 0199 between 9 and 5.", "I will meet you tomorrow near the park. " * 20,
           "1234567 " * 125],
}


def main():
    tts = EspeakBackend()
    worst = 1.0
    for language, texts in TEXTS.items():
        for text in texts:
            started = time.perf_counter()
            speech = synthesize_text(tts, text, language)
            took = time.perf_counter() - started
            measured = len(speech.samples) / speech.sample_rate
            estimate = estimate_seconds(text, language)
            ratio = estimate / measured
            worst = max(worst, ratio, 1 / ratio)
            print(f"{language} {len(text):4d} chars  measured {measured:6.1f} s  estimate {estimate:6.1f} s  "
                  f"ratio {ratio:4.2f}  (synthesis {took:.2f} s)  {text[:36]!r}")
    print(f"worst ratio either way: {worst:.2f}")


if __name__ == "__main__":
    main()

"""End-to-end speed: a ~10 s phrase per language through the pre-loaded pipeline (viseme engine).

Prints per-stage seconds and the total for each language, against the 4 s target on 2 cores and
the reference's 30–60 s on CPU. The pipeline is built once first, as a worker does. Each phrase is
made with the still head and with the default head motion (subtle), in the same run.
"""
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generation.pipeline.images import demo_avatar_image  # noqa: E402
from generation.pipeline.runner import PipelineConfig, build_pipeline  # noqa: E402
from generation.pipeline.types import PIPELINE_TIMINGS as STAGES  # noqa: E402

TARGET_SECONDS = 4.0
REFERENCE_CPU_SECONDS = 30.0  # the low end of the reference Flask script on CPU
PHRASES = {
    "ru": "Здравствуйте! Меня зовут Аватар. Я умею говорить по-русски, по-казахски и по-английски, "
          "а мои губы двигаются в такт речи. Приятно познакомиться!",
    "kk": "Сәлеметсіз бе! Менің атым Аватар. Мен қазақ, орыс және ағылшын тілдерінде сөйлей аламын, "
          "ал ернім сөзбен бірге қозғалады. Танысқаныма қуаныштымын!",
    "en": "Hello there! My name is Avatar. I can speak Russian, Kazakh and English, "
          "and my lips move in time with every word I say to you today. Nice to meet you!",
}


def main() -> None:
    t = time.perf_counter()
    pipeline = build_pipeline(PipelineConfig(lipsync_engine="viseme"))
    image = demo_avatar_image()
    face = pipeline.analyzer().analyze(image)
    print(f"pipeline built in {time.perf_counter() - t:.2f} s (once per worker); avatar {image.shape[1]}x{image.shape[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        pipeline.run("Разогрев.", "ru", Path(tmp) / "warm.mp4", image=image, face=face, avatar_key="demo")
        print(f"{'lang motion':11} {'audio s':>7} " + " ".join(f"{s:>8}" for s in STAGES) + "   vs target   speed-up vs reference")
        for language, text in PHRASES.items():
            for motion in ("none", "subtle"):
                result = pipeline.run(text, language, Path(tmp) / f"{language}.mp4", image=image, face=face,
                                      avatar_key="demo", motion=motion)
                timings = result.timings
                row = " ".join(f"{getattr(timings, s):8.3f}" for s in STAGES)
                print(f"{language + ' ' + motion:11} {result.audio_duration:7.2f} {row}   "
                      f"{timings.total / TARGET_SECONDS:5.2f}x      {REFERENCE_CPU_SECONDS / timings.total:5.1f}x")


if __name__ == "__main__":
    main()

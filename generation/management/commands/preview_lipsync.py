"""Write a contact sheet (frames at chosen times over the waveform and mouth curves) to judge sync."""
from django.core.management.base import BaseCommand, CommandError

from avatars.models import Avatar
from generation.shared import storage
from generation.models import Language
from generation.pipeline.types import PipelineError
from generation.worker import get_pipeline

# generation.pipeline stages are imported inside the functions that run them: importing this module
# (scheduler, tasks, commands, the web's signal wiring) loads no cv2, torch or model until work runs.

FACE_MARGIN = 0.6  # crop around the face box, as a share of its size, so the mouth is easy to see


class Command(BaseCommand):
    help = "Render text (or an audio file) with the viseme engine and write a PNG contact sheet."

    def add_arguments(self, parser):
        parser.add_argument("--text", default="Привет! Я говорящий аватар.")
        parser.add_argument("--language", default="ru", choices=[c.value for c in Language])
        parser.add_argument("--audio", help="an audio file to use instead of TTS (no phoneme track)")
        parser.add_argument("--avatar", type=int, help="avatar id (default: the default avatar)")
        parser.add_argument("--times", help="comma-separated seconds to show (default: 12 evenly spread)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--out", default="lipsync-preview.png")

    def handle(self, *args, **options):
        from generation.pipeline import audio as audio_stage
        from generation.pipeline.images import load_image
        from generation.pipeline.lipsync.viseme import VisemeEngine
        from generation.pipeline.preview import lipsync_sheet
        from generation.pipeline.types import Speech

        avatar = Avatar.objects.filter(pk=options["avatar"]).first() if options["avatar"] else Avatar.default()
        if avatar is None or avatar.face() is None:
            raise CommandError("No analysed avatar (run `make run` once, or add one in the admin).")
        try:
            if options["audio"]:
                speech = Speech(audio_stage.decode(options["audio"]), 16000)
            else:
                speech = get_pipeline().tts.synthesize(options["text"], options["language"])
            audio = audio_stage.prepare(speech)
            image, face = load_image(str(storage.local_copy(avatar.source))), avatar.face()
            engine = VisemeEngine()
            times = [float(t) for t in options["times"].split(",")] if options["times"] else None
            left, top, right, bottom = face.box
            mx, my = (right - left) * FACE_MARGIN, (bottom - top) * FACE_MARGIN
            h, w = image.shape[:2]
            crop = (max(0, int(left - mx)), max(0, int(top - my)), min(w, int(right + mx)), min(h, int(bottom + my)))
            lipsync_sheet(engine, engine.prepare(image, face), audio, out_png=options["out"], times=times,
                          seed=options["seed"], crop=crop, title=f"viseme {options['language']}")
        except (PipelineError, ValueError) as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Wrote {options['out']} ({audio.duration:.2f} s of audio, avatar «{avatar.name}»)")

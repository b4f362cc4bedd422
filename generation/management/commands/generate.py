"""Run the whole pipeline in this process, no worker needed: handy for trying things out."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from avatars.models import Avatar
from generation.models import Language
from generation.pipeline.types import MOTION_LEVELS, PIPELINE_TIMINGS, SUBTITLE_MODES, PipelineError
from generation.worker.jobs import avatar_inputs
from generation.worker import get_pipeline


class Command(BaseCommand):
    help = "Make one talking-avatar MP4 from text and print the stage timings."

    def add_arguments(self, parser):
        parser.add_argument("--text", required=True)
        parser.add_argument("--language", required=True, choices=[c.value for c in Language])
        parser.add_argument("--avatar", type=int, help="avatar id (default: the default avatar)")
        parser.add_argument("--voice", default=None)
        parser.add_argument("--engine", default=None, help="viseme or wav2lip (default: LIPSYNC_ENGINE)")
        parser.add_argument("--motion", default="", choices=["", *MOTION_LEVELS],
                            help="a photo avatar's head motion (default: the avatar's setting)")
        parser.add_argument("--subtitles", default="none", choices=SUBTITLE_MODES,
                            help="burn: draw the captions into the video (a .vtt is written beside it either way)")
        parser.add_argument("--out", default="out.mp4")

    def handle(self, *args, **options):
        avatar = Avatar.objects.filter(pk=options["avatar"]).first() if options["avatar"] else Avatar.default()
        if avatar is None:
            raise CommandError("No such avatar (run `make run` once, or add one in the admin).")
        pipeline = get_pipeline()
        try:
            result = pipeline.run(
                options["text"], options["language"], Path(options["out"]).resolve(),
                **avatar_inputs(avatar, options["motion"]), voice=options["voice"], engine=options["engine"],
                subtitles=options["subtitles"],
            )
        except PipelineError as exc:
            raise CommandError(str(exc))
        from generation.pipeline.captions import to_webvtt

        captions = Path(result.video.path).with_suffix(".vtt")
        captions.write_text(to_webvtt(result.captions), encoding="utf-8")
        t = result.timings
        self.stdout.write(f"{result.video.path}: {result.video.duration:.2f} s, {result.video.width}×{result.video.height}, "
                          f"engine {result.engine}, voice {result.voice or '-'}; captions {captions}")
        self.stdout.write("  ".join(f"{name} {getattr(t, name):.2f}s" for name in PIPELINE_TIMINGS))

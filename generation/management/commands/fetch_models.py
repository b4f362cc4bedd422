"""manage.py fetch_models [--list] [NAME …] [--mirror URL]: the optional models, pinned and verified."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from generation.shared import fetching
from generation.shared.fetching import status
from generation.shared.model_files import MODELS, by_name


class Command(BaseCommand):
    help = ("Download optional model files (Piper voices, the S3FD face detector, the Wav2Lip checkpoint) into "
            "WEIGHTS_DIR, each checked against its pinned SHA-256 and size before it is moved in.")

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", metavar="NAME", help="models to fetch (default: all but those "
                            "marked 'only when named', e.g. the non-commercial Wav2Lip checkpoint)")
        parser.add_argument("--list", dest="show_list", action="store_true", help="list the models and whether each is in place")
        parser.add_argument("--mirror", default="", metavar="URL",
                            help="fetch from a mirror serving the WEIGHTS_DIR layout (e.g. URL/piper/<voice>.onnx)")

    def handle(self, *args, names, show_list, mirror, **options):
        root = Path(settings.WEIGHTS_DIR)
        known = by_name()
        unknown = [n for n in names if n not in known]
        if unknown:
            raise CommandError(f"Unknown model {', '.join(unknown)}; known: {', '.join(known)}.")
        chosen = [known[n] for n in names] or list_all()
        if show_list:
            return self.show(root, chosen)
        if not names:
            for model in [m for m in chosen if not m.default]:
                self.stdout.write(f"{model.name}: skipped, fetched only when named ({model.licence})")
            chosen = [m for m in chosen if m.default]
        fetched = 0
        for model in chosen:
            self.stdout.write(f"{model.name}: {model.title}")
            self.stdout.write(f"  licence: {model.licence}")
            for item in model.files:
                try:
                    outcome = fetching.fetch_file(root, item, mirror=mirror, stream=self.stderr)
                except fetching.FetchError as exc:
                    raise CommandError(str(exc)) from None
                fetched += outcome == "fetched"
                checked = f", checked as a {item.check} file" if item.check else ""
                self.stdout.write(f"  {item.path}: "
                                  f"{'already in place' if outcome == 'present' else 'fetched, verified' + checked}")
            for path, url, language in model.configs:
                try:
                    outcome = fetching.fetch_voice_config(root, path, url, language, mirror=mirror)
                except fetching.FetchError as exc:
                    raise CommandError(str(exc)) from None
                fetched += outcome == "fetched"
                self.stdout.write(f"  {path}: {'already in place' if outcome == 'present' else 'fetched'} "
                                  f"(no published hash: checked as a Piper config of language {language})")
        if fetched:
            self.stdout.write("Restart the worker to load the new models (the web process needs no restart).")

    def show(self, root: Path, models) -> None:
        """One line per file: in place, partly downloaded, or missing."""
        for model in models:
            named = "" if model.default else " (fetched only when named)"
            self.stdout.write(f"{model.name}: {model.title} — {model.licence}{named}")
            for item in model.files:
                size = f"{item.size / 1e6:.1f} MB" if item.size else f"at most {item.max_size / 1e6:.0f} MB"
                self.stdout.write(f"  {status(root, item):8} {item.path} ({size})")
            for path, _, _ in model.configs:
                self.stdout.write(f"  {'present' if (root / path).is_file() else 'missing':8} {path}")


def list_all():
    return list(MODELS)

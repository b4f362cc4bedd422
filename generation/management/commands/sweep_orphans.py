from django.core.management.base import BaseCommand

from generation.worker.sweep import sweep_orphans


class Command(BaseCommand):
    help = ("Remove stored files (on disk or in the bucket) that no row references and that are older than "
            "ORPHAN_GRACE_MINUTES (or --grace-minutes); prints each one.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only list what would be removed")
        parser.add_argument("--grace-minutes", type=int, default=None,
                            help="keep unreferenced files younger than this (default ORPHAN_GRACE_MINUTES)")

    def handle(self, *args, dry_run=False, grace_minutes=None, **options):
        report = sweep_orphans(grace_minutes=grace_minutes, dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for name in report.removed:
            self.stdout.write(f"{verb} {name}")
        for name in report.failed:
            self.stderr.write(f"could not remove {name}")
        self.stdout.write(("Dry run: " if dry_run else "") + str(report))

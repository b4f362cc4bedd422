from django.core.management.base import BaseCommand

from generation.retention import purge_results


class Command(BaseCommand):
    help = "Remove result videos older than RESULT_RETENTION_DAYS (or --days) and mark their requests expired."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="override RESULT_RETENTION_DAYS for this run")

    def handle(self, *args, days=None, **options):
        total = 0
        while True:  # in batches, until none is due
            count = purge_results(days=days)
            total += count
            if not count:
                break
        self.stdout.write(f"{total} result(s) expired")

"""Staff page: which optional models are in WEIGHTS_DIR here, and what each worker says it loaded."""
from pathlib import Path

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from generation.shared.fetching import status
from generation.shared.model_files import MODELS, MODELS_CACHE_KEY


def model_rows() -> list[dict]:
    """One row per manifest file: model, path, state in this process's WEIGHTS_DIR (by size)."""
    root = Path(settings.WEIGHTS_DIR)
    return [{"model": m, "path": item.path, "state": status(root, item)} for m in MODELS for item in m.files]


def worker_reports() -> list[dict]:
    """What the workers published at start (generation.worker.report_models), newest first."""
    reports = cache.get(MODELS_CACHE_KEY) or {}
    rows = [{"worker": name, **report,
             "at": timezone.datetime.fromtimestamp(report.get("at", 0), tz=timezone.get_current_timezone())}
            for name, report in reports.items()]
    return sorted(rows, key=lambda r: r["at"], reverse=True)


@staff_member_required
@require_GET
def models(request):
    return render(request, "generation/staff_models.html", {"rows": model_rows(), "workers": worker_reports()})

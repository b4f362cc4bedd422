"""Old name of generation.worker.tasks: django-q2's Schedule table (migrations 0003, 0012) and tasks
queued before the move name these functions by this path; new work is queued under the new one."""
from generation.worker.tasks import deliver_webhook, make_voice_sample, purge_results, run_generation  # noqa: F401

"""django-q2 task entry points (the worker imports this; the web process only enqueues by name)."""
from generation import services


def run_generation(request_id: int) -> str:
    return services.process_generation(request_id)


def reap_stale() -> int:
    """Scheduled every minute: recover requests whose worker died mid-job."""
    return services.reap_stale_requests()

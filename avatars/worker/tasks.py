"""django-q2 task entry points for avatars (run by the worker; the web process enqueues by name)."""
from generation.worker import scheduler


def prepare_avatar(avatar_id: int) -> str:
    """A wake-up queued for `avatar_id`: the worker runs whichever job's turn it is (generation.worker.scheduler)."""
    return scheduler.run_next()

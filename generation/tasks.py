"""django-q2 task entry points (the worker imports this; the web process only enqueues by name)."""
from generation import jobs


def run_generation(request_id: int) -> str:
    return jobs.process_generation(request_id)

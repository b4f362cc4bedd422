"""django-q2 task entry points (the worker imports this; the web process only enqueues by name)."""
from generation.worker import scheduler


def run_generation(request_id: int) -> str:
    """A wake-up queued for `request_id`: the worker runs whichever job's turn it is (generation.worker.scheduler)."""
    return scheduler.run_next()


def purge_results() -> str:
    """The hourly retention pass (schedule made by migration 0012)."""
    from generation.retention import purge_results as purge

    return f"{purge()} result(s) expired"


def deliver_webhook(delivery_id: int, number: int) -> str:
    from generation import webhooks

    return webhooks.deliver(delivery_id, number)


def make_voice_sample(voice_id: str) -> str:
    """A voice's sample, asked for by a web process that cannot synthesise (generation.samples)."""
    from generation.samples import make_in_worker

    return make_in_worker(voice_id)

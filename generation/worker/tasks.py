"""django-q2 task entry points (the worker imports this; the web process only enqueues by name)."""
from generation import retention, samples, webhooks, worker
from generation.worker import scheduler


def run_generation(request_id: int) -> str:
    """A wake-up queued for `request_id`: the worker runs whichever job's turn it is (generation.worker.scheduler)."""
    return scheduler.run_next()


def prepare_avatar(avatar_id: int) -> str:
    """A wake-up queued for avatar `avatar_id` (avatars.queue): the same turn as a generation's, by the scheduler."""
    return scheduler.run_next()


def purge_results() -> str:
    """The hourly retention pass (schedule made by migration 0012)."""
    return f"{retention.purge_results()} result(s) expired"


def deliver_webhook(delivery_id: int, number: int) -> str:
    return webhooks.deliver(delivery_id, number)


def make_voice_sample(voice_id: str) -> str:
    """A voice's sample, asked for by a web process that cannot synthesise (generation.samples)."""
    return samples.make_in_worker(voice_id, worker.get_pipeline().tts)

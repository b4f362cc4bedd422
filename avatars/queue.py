"""The django-q2 queue for avatars: hand a preparation to the workers (the twin of generation/queue.py).

The web side queues a new or changed avatar; the worker's recovery queues a lost one again.
"""
from avatars.models import Avatar

PREPARE_TASK = "generation.worker.tasks.prepare_avatar"  # a wake-up for the scheduler, beside the generations'

def queue_preparation(avatar: Avatar) -> None:
    """Hand the avatar to the workers (django-q2); its status stays `preparing` until they finish."""
    from django_q.tasks import async_task

    task_id = async_task(PREPARE_TASK, avatar.pk, task_name=f"avatar-{avatar.pk}", group="avatars") or ""
    Avatar.objects.filter(pk=avatar.pk).update(task_id=task_id)

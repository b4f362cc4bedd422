"""django-q2 task entry points for avatars (run by the worker; the web process enqueues by name)."""
from avatars import preparation


def prepare_avatar(avatar_id: int) -> str:
    return preparation.prepare_avatar(avatar_id)

"""Old name of avatars.worker.tasks: tasks queued before the move name it by this path."""
from avatars.worker.tasks import prepare_avatar  # noqa: F401

"""Old name of the avatar preparation task (now generation.worker.tasks.prepare_avatar, the scheduler's
wake-up beside the generations'): tasks queued before the move name it by this path."""
from generation.worker.tasks import prepare_avatar  # noqa: F401

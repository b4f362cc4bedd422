"""What the web answers while the file storage cannot be reached (pages, forms and the API alike)."""

STORAGE_RETRY_AFTER_SECONDS = 30


def storage_unavailable_message() -> str:
    from django.utils.translation import gettext

    return gettext("The file storage cannot be reached right now; nothing was changed. Please try again in a minute.")

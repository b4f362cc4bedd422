from django.conf import settings


def accounts(request) -> dict:
    """Whether pages offer self sign-up (ALLOW_SIGNUP)."""
    return {"allow_signup": settings.ALLOW_SIGNUP}

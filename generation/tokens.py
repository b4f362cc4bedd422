"""API tokens that end: on a password change (always) and after TOKEN_TTL_DAYS (when set)."""
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing tokens older than TOKEN_TTL_DAYS (0 = they never expire)."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        days = settings.TOKEN_TTL_DAYS
        if days and token.created < timezone.now() - timedelta(days=days):
            raise AuthenticationFailed(_("The token has expired; issue a new one on the API token page."))
        return user, token


def revoke_tokens_on_password_change(sender, instance, **kwargs) -> None:
    """pre_save of the user model: a new password hash invalidates the user's API token."""
    from rest_framework.authtoken.models import Token

    if instance.pk is None:
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        Token.objects.filter(user_id=instance.pk).delete()

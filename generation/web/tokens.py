"""API tokens that end: on a password change (always) and after TOKEN_TTL_DAYS (when set)."""
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


def is_expired(token) -> bool:
    """True when TOKEN_TTL_DAYS is set and the token is older than that."""
    days = settings.TOKEN_TTL_DAYS
    return bool(days) and token.created < timezone.now() - timedelta(days=days)


def current_token(user):
    """The user's working token: the one they have, or a new one in place of a missing or expired one."""
    from rest_framework.authtoken.models import Token

    token, created = Token.objects.get_or_create(user=user)
    if not created and is_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    return token


def issue_token(user):
    """A new token for the user in place of any they had (which stops working at once)."""
    from rest_framework.authtoken.models import Token

    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


def revoke_token(user) -> None:
    """The user's token stops working; they have none until they issue one."""
    from rest_framework.authtoken.models import Token

    Token.objects.filter(user=user).delete()


def token_of(user):
    """The user's token, or None (reads only)."""
    from rest_framework.authtoken.models import Token

    return Token.objects.filter(user=user).first()


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing tokens older than TOKEN_TTL_DAYS (0 = they never expire)."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if is_expired(token):
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

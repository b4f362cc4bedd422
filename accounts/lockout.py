"""Password-guessing lockout (django-axes): separate limits per username and per client address."""
from django.conf import settings
from django.db.models import Sum
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_lockout_parameters
from accounts.forms import CountedPasswordChangeForm  # wrong current passwords lock out too

API_PREFIX = "/api/"


class LimitPerParameterHandler(AxesDatabaseHandler):
    """Counts failures per username and per address, each against its own limit.

    Axes compares one failure count with one limit; this handler reports the largest share of a
    limit used up (failures / limit), and AXES_FAILURE_LIMIT is 1, so either limit locks.
    """

    def limits(self) -> dict[str, int]:
        return {"username": settings.LOGIN_FAILURES_PER_USERNAME, "ip_address": settings.LOGIN_FAILURES_PER_ADDRESS}

    def get_failures(self, request, credentials=None) -> float:
        limits = self.limits()
        share = 0.0
        parameters = get_lockout_parameters(request, credentials)
        for parameter, attempts in zip(parameters, self.get_user_attempts(request, credentials)):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            share = max(share, failures / max(1, limits[parameter]))
        return share


def lockout_response(request, original_response=None, credentials=None):
    """429 with Retry-After: JSON for the API, the login page with a message for people."""
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    message = _("Too many failed logins. Try again in %(minutes)s minutes.") % {"minutes": minutes}
    if request.path.startswith(API_PREFIX):
        response = JsonResponse({"detail": message}, status=429)
    elif getattr(request.resolver_match, "url_name", "") == "password_change" and request.user.is_authenticated:
        form = CountedPasswordChangeForm(request.user, request=request)
        response = render(request, "registration/password_change_form.html", {"form": form, "lockout": message},
                          status=429)
    else:
        from django.contrib.auth.forms import AuthenticationForm

        form = AuthenticationForm(request, data=None)
        response = render(request, "registration/login.html", {"form": form, "lockout": message}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response

"""Account pages on Django's own auth views: sign-up (ALLOW_SIGNUP), password change and reset.

Sign-up and reset requests are rate-limited (ACCOUNT_RATE) and refused while the client's address is
locked out for failed logins (django-axes), like the login page. A reset request answers the same
whether or not the address belongs to anybody.
"""
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from accounts.forms import CountedPasswordChangeForm, NewPasswordForm, ResetRequestForm, SignupForm
from accounts.limits import wait_seconds
from accounts.lockout import lockout_response

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def throttled(request, template: str, form, wait: int):
    """The form again with a 429 and Retry-After; nothing was done."""
    message = _("Too many attempts; try again in %(seconds)s s.") % {"seconds": wait}
    response = render(request, template, {"form": form, "throttled": message}, status=429)
    response["Retry-After"] = str(wait)
    return response


@never_cache
@csrf_protect
def signup(request):
    """Self sign-up, only when ALLOW_SIGNUP is set (404 otherwise): the new user is logged in."""
    if not settings.ALLOW_SIGNUP:
        raise Http404("Sign-up is off.")
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    if AxesProxyHandler.is_locked(request):
        return lockout_response(request)
    template = "registration/signup.html"
    if request.method != "POST":
        return render(request, template, {"form": SignupForm()})
    form = SignupForm(request.POST)
    wait = wait_seconds(request, "signup")
    if wait is not None:
        return throttled(request, template, SignupForm(initial={"username": request.POST.get("username", "")}), wait)
    if not form.is_valid():
        return render(request, template, {"form": form}, status=400)
    user = form.save()
    login(request, user, backend=MODEL_BACKEND)
    return redirect(settings.LOGIN_REDIRECT_URL)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, limited per address and per e-mail; links point at SITE_URL, not the Host header."""

    success_url = reverse_lazy("password_reset_done")
    form_class = ResetRequestForm

    def dispatch(self, request, *args, **kwargs):
        if request.method == "POST" and AxesProxyHandler.is_locked(request):
            return lockout_response(request)
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        wait = wait_seconds(request, "reset")
        if wait is not None:
            return throttled(request, self.template_name, self.get_form(), wait)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        if wait_seconds(self.request, "reset-email", email) is not None:
            # the same page as a sent mail: the limit must not tell whether the address is known
            return redirect(self.get_success_url())
        scheme, _sep, domain = settings.SITE_URL.partition("://")
        form.save(domain_override=domain, use_https=scheme == "https", request=self.request,
                  from_email=self.from_email, email_template_name=self.email_template_name,
                  subject_template_name=self.subject_template_name,
                  html_email_template_name=self.html_email_template_name, extra_email_context=self.extra_email_context)
        return redirect(self.get_success_url())


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = CountedPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = NewPasswordForm

"""Account forms on Django's own, with labels and messages in the site's catalogue (Django has little Kazakh).

The password change sends the old password through authenticate(), so wrong guesses count toward the
login lockout (django-axes) like wrong logins do.
"""
from django import forms
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm, UserCreationForm
from django.core.mail import EmailMultiAlternatives
from django.template import loader
from django.utils.translation import gettext_lazy as _

from accounts import mail

MISMATCH = _("The two passwords differ.")


def _password(label, autocomplete="new-password"):
    return forms.CharField(label=label, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}))


class SignupForm(UserCreationForm):
    """Username, e-mail (for password resets) and the password twice, checked by AUTH_PASSWORD_VALIDATORS."""

    error_messages = {"password_mismatch": MISMATCH}
    # Not unique on purpose: refusing a taken address would tell a stranger who has an account here.
    email = forms.EmailField(label=_("E-mail"), help_text=_("Only for resetting a forgotten password."),
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1 = _password(_("Password"))
    password2 = _password(_("The password again"))

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")
        labels = {"username": _("Username")}
        help_texts = {"username": _("Letters, digits and @ . + - _ only; up to 150.")}

    def clean_username(self):
        username = self.cleaned_data.get("username")
        if username and get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken; choose another."), code="unique")
        return username


class CountedPasswordChangeForm(PasswordChangeForm):
    error_messages = {"password_mismatch": MISMATCH, "password_incorrect": _("The current password is wrong.")}
    old_password = _password(_("Current password"), "current-password")
    new_password1 = _password(_("New password"))
    new_password2 = _password(_("The new password again"))
    field_order = ["old_password", "new_password1", "new_password2"]

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old = self.cleaned_data["old_password"]
        found = authenticate(self.request, username=self.user.get_username(), password=old)
        if found is None or found.pk != self.user.pk:
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old


class ResetRequestForm(PasswordResetForm):
    email = forms.EmailField(label=_("E-mail"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        """Django's message, rendered here and sent after the answer (accounts.mail)."""
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        message = EmailMultiAlternatives(subject, body, from_email, [to_email])
        if html_email_template_name is not None:
            message.attach_alternative(loader.render_to_string(html_email_template_name, context), "text/html")
        mail.send_in_background(message)


class NewPasswordForm(SetPasswordForm):
    error_messages = {"password_mismatch": MISMATCH}
    new_password1 = _password(_("New password"))
    new_password2 = _password(_("The new password again"))

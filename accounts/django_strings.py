"""Django's own messages the account forms show, kept in the site's catalogue: Django ships no Kazakh for them.

Never imported; `makemessages` reads the strings here so they stay in locale/*/django.po.
"""
from django.utils.translation import gettext_noop, ngettext_noop

STRINGS = [
    ngettext_noop("This password is too short. It must contain at least %d character.",
                  "This password is too short. It must contain at least %d characters."),
    gettext_noop("The password is too similar to the %(verbose_name)s."),
    gettext_noop("This password is too common."),
    gettext_noop("This password is entirely numeric."),
    gettext_noop("Enter a valid email address."),
    gettext_noop("Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."),
    gettext_noop("This field is required."),
    gettext_noop("username"),
    gettext_noop("email address"),
]

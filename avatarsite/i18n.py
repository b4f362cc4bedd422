"""Interface language: pages default to Russian; the API speaks English to programs that ask for nothing."""
from django.conf import settings
from django.utils import translation

API_PREFIX = "/api/"
API_DEFAULT_LANGUAGE = "en"


class ApiLanguageMiddleware:
    """After LocaleMiddleware: an API call with no language cookie and no Accept-Language gets English.

    The page's own calls carry the cookie (or the browser's Accept-Language), so its messages still
    come back in the language the user reads.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (request.path.startswith(API_PREFIX) and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
                and not request.META.get("HTTP_ACCEPT_LANGUAGE")):
            translation.activate(API_DEFAULT_LANGUAGE)
            request.LANGUAGE_CODE = API_DEFAULT_LANGUAGE
        return self.get_response(request)

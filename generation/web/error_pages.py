"""Error pages: JSON for the API, plain pages elsewhere."""
from django.http import JsonResponse
from django.shortcuts import render
from generation.web.api.exceptions import not_found_message
from generation.web.selectors import ResultExpired
from generation.shared.storage import is_unavailable
from generation.webkit.outage import STORAGE_RETRY_AFTER_SECONDS, storage_unavailable_message


def _wants_json(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": not_found_message()}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    if _wants_json(request):
        from django.utils.translation import gettext

        return JsonResponse({"detail": gettext("Something went wrong on our side; please try again later.")},
                            status=500)
    return render(request, "500.html", status=500)


class StorageUnavailableMiddleware:
    """The bucket cannot be reached: 503 with Retry-After and a sentence, never a 500 (any view, the admin too).

    Also a result that retention removed: 410 with a JSON detail, from whichever view reached for it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ResultExpired):
            return JsonResponse({"detail": str(exception), "expired": True}, status=410)
        if not is_unavailable(exception):  # ours, or botocore's own from a save deep inside Django
            return None
        message = storage_unavailable_message()
        if _wants_json(request):
            response = JsonResponse({"detail": message, "error_code": "storage_unavailable"}, status=503)
        else:
            response = render(request, "503.html", {"message": message}, status=503)
        response["Retry-After"] = str(STORAGE_RETRY_AFTER_SECONDS)
        return response

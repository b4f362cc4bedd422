"""The API's own front door: a root listing the resources, and a JSON 404 for every unmatched path under /api/."""
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from generation.web.api.exceptions import not_found_message

# name -> URL name of the resource's list (or only) endpoint
RESOURCES = {
    "avatars": "api-avatars",
    "voices": "api-voices",
    "backgrounds": "api-backgrounds",
    "generations": "api-generation-list",
    "me": "api-me",
    "token": "api-token",
    "schema": "api-schema",
    "docs": "api-docs",
}


@extend_schema(auth=[], tags=["api"], summary="The API root: links to every resource",
               description="Where each resource of this API lives, as absolute URLs; no credentials needed.",
               responses={200: inline_serializer("ApiRoot", {name: serializers.URLField() for name in RESOURCES})})
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request):
    """Where each resource of this API lives."""
    return Response({name: request.build_absolute_uri(reverse(url)) for name, url in RESOURCES.items()})


@csrf_exempt  # nothing here changes anything: a POST to a wrong path is a 404 like any other
def api_not_found(request, rest=""):
    """Any other path under /api/ (malformed ids included): the API's JSON 404, whatever DEBUG or Accept say.

    A GET that only lacks its final slash is sent on, as Django's APPEND_SLASH did before this route caught it.
    """
    if request.method in ("GET", "HEAD") and not request.path.endswith("/") and _is_route(request.path + "/"):
        query = request.META.get("QUERY_STRING", "")
        return HttpResponsePermanentRedirect(request.path + "/" + (f"?{query}" if query else ""))
    return JsonResponse({"detail": not_found_message()}, status=404)


def _is_route(path: str) -> bool:
    """True when `path` is served by a real API view (not this catch-all)."""
    try:
        return resolve(path).func is not api_not_found
    except Resolver404:
        return False

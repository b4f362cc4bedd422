"""POST/DELETE /api/v1/generations/<id>/share/: the owner's public link to a finished video."""
from django.core.validators import MaxValueValidator
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from generation.web import selectors, sharing
from generation.web.api.serializers import StrictIntegerField


class ShareRequestSerializer(serializers.Serializer):
    expires_in = StrictIntegerField(
        required=False, min_value=sharing.MIN_EXPIRES_SECONDS,
        help_text="seconds the link works (at least 60, at most SHARE_LINK_MAX_DAYS days); absent: SHARE_LINK_DAYS")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["expires_in"]
        field.max_value = sharing.max_expires_seconds()  # a setting: read per request, shown in the schema
        message = field.error_messages["max_value"].format(max_value=field.max_value)
        field.validators.append(MaxValueValidator(field.max_value, message=message))


class ShareSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="the public page: player, captions, download; shown only in this answer")
    expires_at = serializers.DateTimeField()


@extend_schema(methods=["POST"], summary="Make a share link", request=ShareRequestSerializer,
               description="A public link to the finished video (no login needed to watch it). Only a hash of "
                           "its token is stored, so the URL is in this answer only; making another link replaces "
                           "the old one, which stops working.",
               responses={201: ShareSerializer,
                          409: OpenApiResponse(description="Not finished, or its video was removed")})
@extend_schema(methods=["DELETE"], summary="Revoke the share link", request=None,
               description="The link stops working at once (also when there was none).", responses={204: None})
@api_view(["POST", "DELETE"])
def share(request, pk):
    """The owner's share link of one request (another user's request: 404)."""
    generation = selectors.user_generation(request.user, pk)
    if request.method == "DELETE":
        sharing.revoke(generation)
        return Response(status=status.HTTP_204_NO_CONTENT)
    serializer = ShareRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        token, link = sharing.make_link(generation, serializer.validated_data.get("expires_in"))
    except sharing.NotShareable:
        return Response({"detail": _("Only a finished video that is still stored can be shared.")},
                        status=status.HTTP_409_CONFLICT)
    url = request.build_absolute_uri(reverse("share-page", args=[token]))
    return Response(ShareSerializer({"url": url, "expires_at": link.expires_at}).data, status=status.HTTP_201_CREATED,
                    headers={"Cache-Control": "no-store"})

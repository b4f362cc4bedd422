from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action, api_view, permission_classes, throttle_classes
from rest_framework.exceptions import NotAcceptable, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from avatars import services as avatar_services
from avatars.models import Avatar
from avatars.views import add_own_avatar, preview_response, source_response
from generation import downloads, selectors, services, voices
from generation.api.serializers import (
    AvatarCreateSerializer,
    AvatarSerializer,
    GenerationCreateSerializer,
    GenerationSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    VoiceSerializer,
)
from generation.models import LANGUAGES, Status
from generation.throttles import GenerationThrottle, LoginThrottle
from generation.validation import language_error, validate_input


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """For endpoints that answer a file: `Accept: text/vtt` must not turn into 406; errors still come as JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


NOT_FOUND = OpenApiResponse(inline_serializer("NotFoundError", {"detail": serializers.CharField()}),
                            description="Not yours, not there, not finished, or made before captions existed")


def captions_schema(fmt: str, content_type: str):
    """The OpenAPI of one captions endpoint: the text on 200, a JSON `detail` on 404."""
    return extend_schema(
        operation_id=f"v1_generations_captions_{fmt}_retrieve",
        parameters=[OpenApiParameter("download", OpenApiTypes.BOOL, description="1: as an attachment")]
        if fmt == "vtt" else [],
        responses={(200, content_type): OpenApiResponse(OpenApiTypes.STR, description=f"The captions ({fmt})"),
                   404: NOT_FOUND},
    )


@extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer}, auth=[])
@api_view(["POST"])
@permission_classes([AllowAny])
@throttle_classes([LoginThrottle])
def obtain_token(request):
    """Exchange username and password for an API token."""
    serializer = TokenRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    # The Django request, not DRF's wrapper: the lockout (django-axes) flags it for its middleware.
    user = authenticate(request._request, **serializer.validated_data)
    if user is None or not user.is_active:
        return Response({"detail": "Wrong username or password."}, status=status.HTTP_400_BAD_REQUEST)
    token, _ = Token.objects.get_or_create(user=user)
    return Response({"token": token.key})


class AvatarViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Shared avatars (ready ones) and your own (any status); add photos or videos of your own."""

    serializer_class = AvatarSerializer
    pagination_class = None
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.listed_avatars(self.request.user)

    def get_object(self):
        return get_object_or_404(Avatar.objects.visible_to(self.request.user), pk=self.kwargs["pk"])

    @extend_schema(request={"multipart/form-data": AvatarCreateSerializer}, responses={202: AvatarSerializer})
    def create(self, request):
        """Add your own avatar; it is `preparing` until the worker has found (or tracked) the face."""
        serializer = AvatarCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            avatar = add_own_avatar(request.user, serializer.validated_data["name"], serializer.validated_data["file"])
        except DjangoValidationError as exc:
            raise ValidationError({"file": exc.messages})
        location = request.build_absolute_uri(reverse("api-avatar-detail", args=[avatar.pk]))
        body = AvatarSerializer(avatar, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})

    @extend_schema(responses={204: None, 403: OpenApiResponse(description="A shared avatar"),
                              409: OpenApiResponse(description="Videos using it are still being made")})
    def destroy(self, request, pk=None):
        """Delete your own avatar and its files (finished videos made with it stay)."""
        avatar = self.get_object()
        if avatar.owner_id != request.user.pk:
            return Response({"detail": _("Shared avatars are managed by staff.")}, status=status.HTTP_403_FORBIDDEN)
        try:
            avatar_services.delete_avatar(avatar)
        except avatar_services.AvatarInUse as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


    @extend_schema(responses={(200, "image/png"): OpenApiResponse(description="The preview PNG"),
                              404: OpenApiResponse(description="Not yours, or not prepared yet")})
    @action(detail=True, methods=["get"], url_path="preview")
    def preview(self, request, pk=None):
        """The first frame with the tracked face box and landmarks, once prepared."""
        return preview_response(request, self.get_object())

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="The uploaded file"),
                              404: OpenApiResponse(description="Not an avatar you may see")})
    @action(detail=True, methods=["get"], url_path="source")
    def source(self, request, pk=None):
        """The photo or video as uploaded, as an attachment typed by what it is."""
        return source_response(request, self.get_object())


class VoiceList(generics.GenericAPIView):
    """Voices per language from every configured TTS backend (`?language=ru|kk|en`, or all)."""

    serializer_class = VoiceSerializer
    pagination_class = None

    @extend_schema(parameters=[OpenApiParameter("language", str, enum=list(LANGUAGES))],
                   responses={200: VoiceSerializer(many=True)})
    def get(self, request):
        language = request.query_params.get("language")
        if language and language not in LANGUAGES:
            return Response({"language": [language_error(language)]}, status=status.HTTP_400_BAD_REQUEST)
        found = [v for lang in ([language] if language else LANGUAGES) for v in voices.voices(lang)]
        return Response(VoiceSerializer(found, many=True).data)


class GenerationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = GenerationSerializer

    def get_throttles(self):
        return [GenerationThrottle()] if self.action == "create" else []

    def get_queryset(self):
        return selectors.user_generations(self.request.user)

    def get_object(self):
        return selectors.user_generation(self.request.user, self.kwargs["pk"])

    @extend_schema(request=GenerationCreateSerializer,
                   responses={202: GenerationSerializer,
                              429: OpenApiResponse(description="Too many active videos, or today's seconds of video "
                                                               "(USER_DAILY_SECONDS) used up: see Retry-After")})
    def create(self, request):
        """Queue a new video; poll the returned resource until `status` is done or failed."""
        generation = create_from(request)
        body = GenerationSerializer(generation, context={"request": request}).data
        location = request.build_absolute_uri(reverse("api-generation-detail", args=[generation.pk]))
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """Delete the request and its video file."""
        services.delete_generation(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: GenerationSerializer, 409: OpenApiResponse(description="Already finished")})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a queued or running request."""
        generation = self.get_object()
        if not services.cancel_generation(generation):
            return Response({"detail": f"The request is already {generation.status}."}, status=status.HTTP_409_CONFLICT)
        return Response(GenerationSerializer(generation, context={"request": request}).data)

    @extend_schema(responses={(200, "video/mp4"): OpenApiResponse(description="The MP4 (with a bucket: 302 to a "
                                                                            "short-lived signed URL)"),
                              404: None, 410: OpenApiResponse(description="Removed by retention"),
                              503: OpenApiResponse(description="The file storage cannot be reached")})
    @action(detail=True, methods=["get"], url_path="video")
    def video(self, request, pk=None):
        """The MP4 (owner only; HTTP Range supported)."""
        generation = self.get_object()
        video = selectors.finished_video(generation)
        inline = request.query_params.get("download") not in ("1", "true")
        return downloads.file_response(request, video.file, content_type="video/mp4",
                                       filename=f"avatar-{generation.pk}.mp4", inline=inline)

    @captions_schema("vtt", "text/vtt")
    @action(detail=True, methods=["get"], url_path="captions.vtt")
    def captions_vtt(self, request, pk=None):
        """The captions as WebVTT (owner only): the user's words timed against the speech."""
        generation = self.get_object()
        return downloads.captions_response(generation, selectors.finished_video(generation), "vtt",
                                           download=request.query_params.get("download") in ("1", "true"))

    @captions_schema("srt", "application/x-subrip")
    @action(detail=True, methods=["get"], url_path="captions.srt")
    def captions_srt(self, request, pk=None):
        """The same captions as SubRip, as an attachment (owner only)."""
        generation = self.get_object()
        return downloads.captions_response(generation, selectors.finished_video(generation), "srt", download=True)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="The recording"), 404: None})
    @action(detail=True, methods=["get"], url_path="recording")
    def recording(self, request, pk=None):
        """The uploaded recording a request was made from (owner only; 404 when it was made from text)."""
        return downloads.recording_response(request, self.get_object())


def create_from(request):
    """Validate a create request's body and queue (or reuse) the video."""
    serializer = GenerationCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return services.create_generation(request.user, validate_input(user=request.user, **serializer.validated_data))


@extend_schema(
    request=GenerationCreateSerializer,
    responses={(200, "video/mp4"): OpenApiResponse(description="The finished MP4"),
               429: OpenApiResponse(description="Too many synchronous waits open"),
               504: OpenApiResponse(description="Timed out")},
)
@api_view(["POST"])
@throttle_classes([GenerationThrottle])
def generate_sync(request):
    """The reference's synchronous endpoint: waits for the worker and answers with the MP4 itself.

    Each wait holds a web worker, so only a few may be open at once (per user and in all); beyond
    that the answer is 429 at once, with Retry-After.
    """
    with services.sync_wait_slot(request.user):
        generation = create_from(request)
        generation = services.wait_until_finished(generation, timeout=settings.SYNC_GENERATE_TIMEOUT)
    if generation.status == Status.DONE:
        # the reference's clients expect the MP4 in this very answer: from a bucket too, never a redirect
        return downloads.file_response(request, generation.video.file, content_type="video/mp4",
                                       filename=f"avatar-{generation.pk}.mp4", inline=True, redirect=False)
    if generation.status in (Status.FAILED, Status.CANCELLED):
        return Response({"detail": generation.error, "error_code": generation.error_code, "id": generation.pk},
                        status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    return Response(
        {"detail": f"The video was not ready within {settings.SYNC_GENERATE_TIMEOUT} s; it is still being made.",
         "id": generation.pk, "status_url": request.build_absolute_uri(reverse("api-generation-detail", args=[generation.pk]))},
        status=status.HTTP_504_GATEWAY_TIMEOUT,
    )

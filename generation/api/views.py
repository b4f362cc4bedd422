from django.conf import settings
from django.contrib.auth import authenticate
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action, api_view, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from generation import selectors, services, voices
from generation.api.serializers import (
    AvatarSerializer,
    GenerationCreateSerializer,
    GenerationSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    VoiceSerializer,
)
from generation.downloads import video_response
from generation.models import Language, Status


class LoginThrottle(AnonRateThrottle):
    scope = "login"


class GenerationThrottle(UserRateThrottle):
    """Creation only: reading status and history is never throttled."""

    scope = "generations"


@extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer}, auth=[])
@api_view(["POST"])
@permission_classes([AllowAny])
@throttle_classes([LoginThrottle])
def obtain_token(request):
    """Exchange username and password for an API token."""
    serializer = TokenRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = authenticate(request, **serializer.validated_data)
    if user is None or not user.is_active:
        return Response({"detail": "Wrong username or password."}, status=status.HTTP_400_BAD_REQUEST)
    token, _ = Token.objects.get_or_create(user=user)
    return Response({"token": token.key})


class AvatarList(generics.ListAPIView):
    """Active avatars to choose from."""

    serializer_class = AvatarSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.active_avatars()


class VoiceList(generics.GenericAPIView):
    """Voices per language from every configured TTS backend (`?language=ru|kk|en`, or all)."""

    serializer_class = VoiceSerializer
    pagination_class = None

    @extend_schema(parameters=[OpenApiParameter("language", str, enum=[c.value for c in Language])],
                   responses={200: VoiceSerializer(many=True)})
    def get(self, request):
        language = request.query_params.get("language")
        allowed = [c.value for c in Language]
        if language and language not in allowed:
            return Response({"language": [f"Unknown language «{language}»; choose one of: {', '.join(allowed)}."]},
                            status=status.HTTP_400_BAD_REQUEST)
        found = [v for lang in ([language] if language else allowed) for v in voices.voices(lang)]
        return Response(VoiceSerializer(found, many=True).data)


class GenerationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = GenerationSerializer

    def get_throttles(self):
        return [GenerationThrottle()] if self.action == "create" else []

    def get_queryset(self):
        return selectors.user_generations(self.request.user)

    def get_object(self):
        return selectors.user_generation(self.request.user, self.kwargs["pk"])

    @extend_schema(request=GenerationCreateSerializer, responses={202: GenerationSerializer})
    def create(self, request):
        """Queue a new video; poll the returned resource until `status` is done or failed."""
        serializer = GenerationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        generation = services.create_generation(owner=request.user, **serializer.validated_data)
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

    @extend_schema(responses={(200, "video/mp4"): OpenApiResponse(description="The MP4"), 404: None})
    @action(detail=True, methods=["get"], url_path="video")
    def video(self, request, pk=None):
        """The MP4 (owner only; HTTP Range supported)."""
        generation = self.get_object()
        video = selectors.finished_video(generation)
        as_attachment = request.query_params.get("download") in ("1", "true")
        return video_response(request, video, download_name=f"avatar-{generation.pk}.mp4", as_attachment=as_attachment)


@extend_schema(
    request=GenerationCreateSerializer,
    responses={(200, "video/mp4"): OpenApiResponse(description="The finished MP4"), 504: OpenApiResponse(description="Timed out")},
)
@api_view(["POST"])
@throttle_classes([GenerationThrottle])
def generate_sync(request):
    """The reference's synchronous endpoint: waits for the worker and answers with the MP4 itself."""
    serializer = GenerationCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    generation = services.create_generation(owner=request.user, **serializer.validated_data)
    generation = services.wait_until_finished(generation, timeout=settings.SYNC_GENERATE_TIMEOUT)
    if generation.status == Status.DONE:
        return video_response(request._request, generation.video, download_name=f"avatar-{generation.pk}.mp4")
    if generation.status in (Status.FAILED, Status.CANCELLED):
        return Response({"detail": generation.error or "Generation failed.", "id": generation.pk},
                        status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    return Response(
        {"detail": f"The video was not ready within {settings.SYNC_GENERATE_TIMEOUT} s; it is still being made.",
         "id": generation.pk, "status_url": request.build_absolute_uri(reverse("api-generation-detail", args=[generation.pk]))},
        status=status.HTTP_504_GATEWAY_TIMEOUT,
    )

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes, throttle_classes
from rest_framework.exceptions import NotAcceptable, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings

from avatars.web import services as avatar_services
from avatars.models import Avatar
from avatars.web.views import preview_response, source_response
from generation import quotas, webhooks
from generation.shared import voices
from generation.web import backgrounds, downloads, idempotency, selectors, services, tokens
from generation.web.api.exceptions import (AvatarNotFound, AvatarNotReady, BackgroundNotFound, IdempotencyKeyMismatch,
                                       TooManyAvatarsError, TooManyPreparingError)
from generation.web.api.serializers import (
    AvatarCreateSerializer,
    AvatarRenameSerializer,
    AvatarSerializer,
    BackgroundCreateSerializer,
    BackgroundSerializer,
    GenerationFilterSerializer,
    GenerationCreateSerializer,
    GenerationSerializer,
    MeSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    VoiceSerializer,
)
from generation.models import LANGUAGES, Status
from generation.webkit import files
from generation.webkit.throttles import AvatarUploadThrottle, GenerationThrottle, LoginThrottle
from generation.web.validation import AVATAR_MISSING, BACKGROUND_MISSING, language_error, validate_input
from generation import samples


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """For endpoints that answer a file: `Accept: text/vtt` must not turn into 406; errors still come as JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


NOT_FOUND = OpenApiResponse(inline_serializer("NotFoundError", {"detail": serializers.CharField()}),
                            description="Not yours, not there, not finished, or made before captions existed")


DOWNLOAD_VALUES = {"1": True, "true": True, "True": True, "0": False, "false": False, "False": False}
DOWNLOAD_PARAMETER = OpenApiParameter("download", OpenApiTypes.BOOL,
                                      description="true (or 1): as an attachment; false (or 0, or absent): inline")


def download_flag(request) -> bool:
    """The `download` query parameter as a boolean; anything but true/false/1/0 is a 400 naming it."""
    value = request.query_params.get("download")
    if value is None:
        return False
    if value not in DOWNLOAD_VALUES:
        raise ValidationError({"download": [_("«%(value)s» is not a boolean: use true or false (or 1 or 0).")
                                            % {"value": value[:50]}]})
    return DOWNLOAD_VALUES[value]


def captions_schema(fmt: str, content_type: str):
    """The OpenAPI of one captions endpoint: the text on 200, a JSON `detail` on 404."""
    return extend_schema(
        operation_id=f"v1_generations_captions_{fmt}_retrieve",
        parameters=[DOWNLOAD_PARAMETER] if fmt == "vtt" else [],
        responses={(200, content_type): OpenApiResponse(OpenApiTypes.STR, description=f"The captions ({fmt})"),
                   404: NOT_FOUND},
    )


@extend_schema(request=TokenRequestSerializer, auth=[],
               responses={200: TokenSerializer, 401: OpenApiResponse(description="Wrong username or password")})
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
        return Response({"detail": _("Wrong username or password.")}, status=status.HTTP_401_UNAUTHORIZED,
                        headers={"WWW-Authenticate": 'Token realm="api"'})
    return Response({"token": tokens.current_token(user).key})


class AvatarViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Shared avatars (ready ones) and your own (any status); add photos or videos of your own."""

    serializer_class = AvatarSerializer
    pagination_class = None
    parser_classes = [MultiPartParser, FormParser]

    def get_parsers(self):
        if getattr(self.request, "method", None) == "PATCH":  # a rename: JSON too (uploads stay multipart)
            return [parser() for parser in api_settings.DEFAULT_PARSER_CLASSES]
        return super().get_parsers()

    def get_queryset(self):
        return selectors.listed_avatars(self.request.user)

    def get_object(self):
        return get_object_or_404(Avatar.objects.visible_to(self.request.user), pk=self.kwargs["pk"])

    def get_throttles(self):
        return [AvatarUploadThrottle()] if self.action == "create" else []

    @extend_schema(request={"multipart/form-data": AvatarCreateSerializer},
                   responses={202: AvatarSerializer,
                              429: OpenApiResponse(description="Too many uploads (AVATAR_UPLOAD_RATE; see "
                                                               "Retry-After), or MAX_PREPARING_PER_USER of your "
                                                               "avatars still being prepared")})
    def create(self, request):
        """Add your own avatar; it is `preparing` until the worker has found (or tracked) the face."""
        serializer = AvatarCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            avatar = avatar_services.add_own_avatar(request.user, serializer.validated_data["name"],
                                                    serializer.validated_data["file"])
        except avatar_services.TooManyAvatars as exc:
            raise TooManyAvatarsError(exc.messages[0])
        except avatar_services.TooManyPreparing as exc:
            raise TooManyPreparingError(str(exc))
        except DjangoValidationError as exc:
            raise ValidationError({"file": exc.messages})
        location = request.build_absolute_uri(reverse("api-avatar-detail", args=[avatar.pk]))
        body = AvatarSerializer(avatar, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})

    @extend_schema(summary="Rename your avatar", request=AvatarRenameSerializer,
                   responses={200: AvatarSerializer, 403: OpenApiResponse(description="A shared avatar")})
    def partial_update(self, request, pk=None):
        """A new name for your own avatar (trimmed, 1-100 characters); shared avatars are renamed by staff."""
        avatar = self.get_object()
        if avatar.owner_id != request.user.pk:
            return Response({"detail": _("Shared avatars are managed by staff.")}, status=status.HTTP_403_FORBIDDEN)
        serializer = AvatarRenameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            avatar_services.rename_avatar(avatar, serializer.validated_data["name"])
        except DjangoValidationError as exc:
            raise ValidationError({"name": exc.messages})
        return Response(AvatarSerializer(avatar, context={"request": request}).data)

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


class BackgroundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your background pictures (nobody else's): upload, list, fetch, delete; use one with background_image."""

    serializer_class = BackgroundSerializer
    pagination_class = None
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return backgrounds.owned(self.request.user)

    def get_object(self):
        return get_object_or_404(backgrounds.owned(self.request.user), pk=self.kwargs["pk"])

    def get_throttles(self):
        return [AvatarUploadThrottle()] if self.action == "create" else []

    @extend_schema(request={"multipart/form-data": BackgroundCreateSerializer},
                   responses={201: BackgroundSerializer,
                              400: OpenApiResponse(description="Not a picture we accept, or too many kept"),
                              429: OpenApiResponse(description="Too many uploads (AVATAR_UPLOAD_RATE; see "
                                                               "Retry-After)")})
    def create(self, request):
        """Upload a picture (JPEG, PNG, WebP, BMP), checked like avatar photos."""
        serializer = BackgroundCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            picture = backgrounds.add_background(request.user, serializer.validated_data["file"])
        except DjangoValidationError as exc:
            raise ValidationError({"file": exc.messages})
        except backgrounds.TooManyBackgrounds as exc:
            raise ValidationError({"file": [str(exc)]})
        body = BackgroundSerializer(picture, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED,
                        headers={"Location": request.build_absolute_uri(reverse("api-background-detail",
                                                                                args=[picture.pk]))})

    @extend_schema(responses={204: None, 404: OpenApiResponse(description="Not yours")})
    def destroy(self, request, pk=None):
        """Delete the picture; videos already made keep it in their frames."""
        backgrounds.delete_background(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="The picture"),
                              404: OpenApiResponse(description="Not yours")})
    @action(detail=True, methods=["get"], url_path="file")
    def file(self, request, pk=None):
        """The picture as uploaded (yours only)."""
        picture = self.get_object()
        mime = files.sniff_image_type(picture.file)
        return files.file_response(request, picture.file, content_type=mime, filename=f"background-{picture.pk}")


class VoiceList(generics.GenericAPIView):
    """Voices per language from every configured TTS backend (`?language=ru|kk|en`, or all)."""

    serializer_class = VoiceSerializer
    pagination_class = None

    @extend_schema(parameters=[OpenApiParameter("language", str, enum=list(LANGUAGES))],
                   responses={200: VoiceSerializer(many=True)})
    def get(self, request):
        language = request.query_params.get("language")
        if language is not None and language not in LANGUAGES:
            return Response({"language": [language_error(language)]}, status=status.HTTP_400_BAD_REQUEST)
        found = [v for lang in ([language] if language else LANGUAGES) for v in voices.voices(lang)]
        return Response(VoiceSerializer(found, many=True).data)


SAMPLE_RETRY_SECONDS = 5  # "not ready yet": the worker makes a sample in well under this


class VoiceSample(generics.GenericAPIView):
    """A short sentence in the voice (WAV), made once per voice and cached; any signed-in user may hear any voice."""

    content_negotiation_class = AnyAcceptNegotiation
    pagination_class = None
    serializer_class = None

    @extend_schema(
        responses={(200, "audio/wav"): OpenApiResponse(OpenApiTypes.BINARY, description="The sample"),
                   404: OpenApiResponse(inline_serializer("VoiceNotFound", {"detail": serializers.CharField()}),
                                        description="No such voice"),
                   503: OpenApiResponse(inline_serializer("SampleNotReady", {"detail": serializers.CharField()}),
                                        description="Not made yet (the worker is making it): try again after Retry-After")})
    def get(self, request, voice_id):
        from django.http import HttpResponse

        voice = samples.find_voice(voice_id)
        if voice is None:
            return Response({"detail": _("There is no voice «%(voice)s».") % {"voice": voice_id}},
                            status=status.HTTP_404_NOT_FOUND)
        try:
            data = samples.sample(voice)
        except Exception:  # a TTS that failed here (a remote service down): like not ready, but logged
            samples.log.exception("The sample of voice %s could not be made", voice_id)
            data = None
        if data is None:
            return Response({"detail": _("The sample of this voice is not ready yet; try again in a few seconds.")},
                            status=status.HTTP_503_SERVICE_UNAVAILABLE,
                            headers={"Retry-After": str(SAMPLE_RETRY_SECONDS)})
        response = HttpResponse(data, content_type=samples.CONTENT_TYPE)
        response["Cache-Control"] = "private, max-age=86400"
        response["Content-Disposition"] = "inline"
        return response


class GenerationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = GenerationSerializer

    def get_throttles(self):
        return [GenerationThrottle()] if self.action == "create" else []

    def get_queryset(self):
        generations = selectors.user_generations(self.request.user)
        if self.action != "list":
            return generations
        query = GenerationFilterSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)  # an unknown status or language: 400, not an empty page
        return selectors.HistoryFilters(**query.validated_data).apply(generations)

    def get_object(self):
        return selectors.user_generation(self.request.user, self.kwargs["pk"])

    @extend_schema(summary="List your requests", parameters=[GenerationFilterSerializer])
    def list(self, request, *args, **kwargs):
        """Your requests, newest first; `q` searches the text, `status`, `language` and `avatar` narrow them."""
        return super().list(request, *args, **kwargs)

    @extend_schema(request=GenerationCreateSerializer,
                   responses={202: GenerationSerializer,
                              429: OpenApiResponse(description="Too many active videos, or today's seconds of video "
                                                               "(USER_DAILY_SECONDS) used up: see Retry-After"),
                              200: OpenApiResponse(GenerationSerializer, description="An Idempotency-Key replay: "
                                                   "the original request (header Idempotent-Replayed: true)")},
                   parameters=[OpenApiParameter(idempotency.HEADER, str, OpenApiParameter.HEADER, required=False,
                                                description="the same key within 24 h returns the original request "
                                                            "(200, header Idempotent-Replayed: true)")])
    def create(self, request):
        """Queue a new video; poll the returned resource until `status` is done or failed (or pass callback_url)."""
        generation = create_from(request)
        body = GenerationSerializer(generation, context={"request": request}).data
        location = request.build_absolute_uri(reverse("api-generation-detail", args=[generation.pk]))
        if generation.replayed:
            return Response(body, status=status.HTTP_200_OK,
                            headers={"Location": location, idempotency.REPLAY_HEADER: "true"})
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
            return Response({"detail": _("The request has finished already (%(status)s): there is nothing to cancel.")
                                       % {"status": generation.get_status_display()},
                             "status": generation.status}, status=status.HTTP_409_CONFLICT)
        return Response(GenerationSerializer(generation, context={"request": request}).data)

    @extend_schema(responses={(200, "video/mp4"): OpenApiResponse(description="The MP4 (with a bucket: 302 to a "
                                                                            "short-lived signed URL)"),
                              404: None, 410: OpenApiResponse(description="Removed by retention"),
                              503: OpenApiResponse(description="The file storage cannot be reached")},
                   parameters=[DOWNLOAD_PARAMETER])
    @action(detail=True, methods=["get"], url_path="video")
    def video(self, request, pk=None):
        """The MP4 (owner only; HTTP Range supported)."""
        inline = not download_flag(request)
        generation = self.get_object()
        video = selectors.finished_video(generation)
        return files.file_response(request, video.file, content_type="video/mp4",
                                       filename=f"avatar-{generation.pk}.mp4", inline=inline)

    @captions_schema("vtt", "text/vtt")
    @action(detail=True, methods=["get"], url_path="captions.vtt")
    def captions_vtt(self, request, pk=None):
        """The captions as WebVTT (owner only): the user's words timed against the speech."""
        download = download_flag(request)
        generation = self.get_object()
        return downloads.captions_response(generation, selectors.finished_video(generation), "vtt",
                                           download=download)

    @captions_schema("srt", "application/x-subrip")
    @action(detail=True, methods=["get"], url_path="captions.srt")
    def captions_srt(self, request, pk=None):
        """The same captions as SubRip, as an attachment (owner only)."""
        generation = self.get_object()
        return downloads.captions_response(generation, selectors.finished_video(generation), "srt", download=True)

    @extend_schema(operation_id="v1_generations_stream_retrieve",
                   responses={(200, "application/vnd.apple.mpegurl"): OpenApiResponse(
                       OpenApiTypes.STR, description="The HLS EVENT playlist, growing while the request runs "
                       "(Cache-Control: no-cache) and ended with #EXT-X-ENDLIST; with a bucket its segments are "
                       "signed URLs"), 404: NOT_FOUND, 410: OpenApiResponse(description="Removed by retention"),
                   503: OpenApiResponse(description="The file storage cannot be reached")})
    @action(detail=True, methods=["get"], url_path="stream/index.m3u8")
    def stream(self, request, pk=None):
        """Watch the video while it is made (owner only): an HLS playlist of 1-3 s fMP4 segments."""
        return downloads.stream_response(request, self.get_object(), "index.m3u8")

    @extend_schema(operation_id="v1_generations_stream_file_retrieve",
                   responses={(200, "video/mp4"): OpenApiResponse(OpenApiTypes.BINARY, description="A segment or the init header "
                                                                 "(with a bucket: 302 to a signed URL)"),
                              (200, "text/vtt"): OpenApiResponse(OpenApiTypes.STR, description="captions.vtt: the "
                                                                 "request's captions, there before the first segment"),
                              404: NOT_FOUND, 410: OpenApiResponse(description="Removed by retention"),
                              503: OpenApiResponse(description="The file storage cannot be reached")})
    @action(detail=True, methods=["get"], url_path=r"stream/(?P<name>[^/]+)")
    def stream_file(self, request, pk=None, name=""):
        """One file of the stream (owner only): init.mp4, segNNNNN.m4s or captions.vtt."""
        return downloads.stream_response(request, self.get_object(), name)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="The recording"), 404: None})
    @action(detail=True, methods=["get"], url_path="recording")
    def recording(self, request, pk=None):
        """The uploaded recording a request was made from (owner only; 404 when it was made from text)."""
        return downloads.recording_response(request, self.get_object())


MISSING = {"avatar": AVATAR_MISSING, "background_image": BACKGROUND_MISSING}  # fields whose "not there" is a 404


def avatar_refusal(exc: DjangoValidationError):
    """When only things named are wrong: 404 for an avatar or background picture that does not exist (or is
    not the caller's), 409 for an avatar alone that is not ready."""
    errors = exc.error_dict if hasattr(exc, "error_dict") else {}
    if not errors or any(field not in MISSING for field in errors):
        return None
    messages = {field: [errors[field][0].messages[0]] for field in errors}
    detail = " ".join(m[0] for m in messages.values())
    if all(errors[field][0].code == MISSING[field] for field in errors):
        return (AvatarNotFound if "avatar" in errors else BackgroundNotFound)({"detail": detail, **messages})
    if set(errors) == {"avatar"}:  # there, but still being prepared or failed
        return AvatarNotReady({"detail": detail, **messages})
    return None


def create_from(request):
    """Validate a create request's body and queue (or reuse, or replay by Idempotency-Key) the video."""
    serializer = GenerationCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    key = request.headers.get(idempotency.HEADER)
    body = ""
    if key is not None:
        message = idempotency.key_errors(key)
        if message:
            raise ValidationError({idempotency.HEADER: [message]})
        body = idempotency.body_sha256(serializer.validated_data)

    def validated():
        try:
            return validate_input(user=request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise avatar_refusal(exc) or exc

    try:  # a replay (services.create_generation) needs no validation: the original's avatar may be gone
        return services.create_generation(request.user, validated, idempotency_key=key or "", body_sha256=body)
    except idempotency.KeyMismatch as exc:
        raise IdempotencyKeyMismatch(str(exc))


@extend_schema(
    request=GenerationCreateSerializer,
    parameters=[OpenApiParameter(idempotency.HEADER, str, OpenApiParameter.HEADER, required=False,
                                 description="the same key within 24 h waits for the original request")],
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
        return files.file_response(request, generation.video.file, content_type="video/mp4",
                                       filename=f"avatar-{generation.pk}.mp4", inline=True, redirect=False)
    if generation.status in (Status.FAILED, Status.CANCELLED):
        return Response({"detail": generation.error, "error_code": generation.error_code, "id": generation.pk},
                        status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    return Response(
        {"detail": _("The video was not ready within %(seconds)s s; it is still being made.")
                   % {"seconds": settings.SYNC_GENERATE_TIMEOUT},
         "id": generation.pk, "status_url": request.build_absolute_uri(reverse("api-generation-detail", args=[generation.pk]))},
        status=status.HTTP_504_GATEWAY_TIMEOUT,
    )


def me_body(user, secret: str) -> dict:
    return MeSerializer({"username": user.get_username(), "webhook_secret": secret,
                         "quota": quotas.quota_status(user)}).data


@extend_schema(responses={200: MeSerializer})
@api_view(["GET"])
def me(request):
    """Your user name and webhook signing secret (null until your first request with a callback_url, or a rotation)."""
    return Response(me_body(request.user, webhooks.secret_for(request.user)))


@extend_schema(request=None, responses={200: MeSerializer})
@api_view(["POST"])
def rotate_webhook_secret(request):
    """A new webhook signing secret; attempts from now on are signed with it."""
    return Response(me_body(request.user, webhooks.rotate_secret(request.user)))

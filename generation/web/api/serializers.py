from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db.models import Q
from django.http import QueryDict
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from avatars.models import Avatar, Motion
from generation.models import (BACKGROUND_MAX_LENGTH, CALLBACK_URL_MAX_LENGTH, TIMING_FIELDS, Background, Frame,
                               GenerationRequest, Language, Status, Subtitles)
from generation.pipeline import limits
from generation.web.validation import language_error

# generation.pipeline modules are imported inside the functions that use them: the web process
# loads numpy, Pillow or espeak only for a request that needs them (docs/architecture.md §1).


# An absolute URI as RFC 3986 spells it (the schema's "format: uri"): only its characters, %-escapes well formed.
ABSOLUTE_URI = r"^[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*\Z"


def sent_as_json(field) -> bool:
    """True when the body was JSON (typed values), not a form (where every value is text)."""
    data = getattr(field.root, "initial_data", None)
    return isinstance(data, dict) and not isinstance(data, QueryDict)  # forms parse into a QueryDict


class StrictCharField(serializers.CharField):
    """A string, and only a string: JSON numbers and booleans are refused, not turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A number: in JSON a number (not "1.5" nor true), in a form its digits."""

    def to_internal_value(self, data):
        if sent_as_json(self) and (isinstance(data, bool) or not isinstance(data, (int, float))):
            self.fail("invalid")
        return super().to_internal_value(data)


class RateField(StrictFloatField):
    """The pace: its range is in the schema, but checked (and said, translated) by validation.rate_errors."""

    def __init__(self, **kwargs):
        from generation.pipeline.tts.base import MAX_RATE, MIN_RATE

        super().__init__(min_value=MIN_RATE, max_value=MAX_RATE, **kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, (MinValueValidator, MaxValueValidator))]


class StrictIntegerField(serializers.IntegerField):
    """An integer: in JSON a number (not "5" nor 5.5), in a form its digits."""

    def to_internal_value(self, data):
        if sent_as_json(self) and (isinstance(data, bool) or not isinstance(data, int)):
            self.fail("invalid")
        return super().to_internal_value(data)


def absolute(serializer, url: str) -> str:
    request = serializer.context.get("request")
    return request.build_absolute_uri(url) if request else url


class AvatarSerializer(serializers.ModelSerializer):
    """An avatar: a shared one (staff's) or the caller's own, and how its preparation went."""

    name = serializers.CharField(source="display_name", read_only=True,
                                 help_text="a shared built-in avatar's in the caller's language; yours as you named it")
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    error = serializers.CharField(read_only=True, help_text="why preparation failed, for people; empty otherwise")
    notes = serializers.SerializerMethodField(help_text="what preparation left out or noticed, as sentences")
    shared = serializers.BooleanField(source="is_shared", read_only=True, help_text="false: your own avatar")
    preview = serializers.SerializerMethodField(help_text="first frame with the face box (PNG), once prepared")
    source = serializers.SerializerMethodField(help_text="the uploaded photo or video")

    class Meta:
        model = Avatar
        fields = ["id", "name", "kind", "status", "status_label", "progress", "error", "error_code", "notes",
                  "duration", "width", "height", "motion", "preview", "source", "shared", "is_default", "created_at"]
        read_only_fields = fields

    def get_notes(self, obj) -> list[str]:
        return [message for message in obj.note_messages() if message]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_preview(self, obj):
        # the API's own route: a token works there, the page's route wants a session
        return absolute(self, reverse("api-avatar-preview", args=[obj.pk])) if obj.preview else None

    def get_source(self, obj) -> str:
        return absolute(self, reverse("api-avatar-source", args=[obj.pk]))


class AvatarCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    file = serializers.FileField(help_text=f"a photo ({', '.join(limits.PHOTO_FORMAT_NAMES)}) or a video of up to "
                                           f"{settings.MAX_VIDEO_SECONDS} s and {settings.MAX_VIDEO_SIDE} px "
                                           f"({', '.join(limits.VIDEO_FORMAT_NAMES)})")


class AvatarRenameSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100, help_text="the new name (trimmed)")


class GenerationFilterSerializer(serializers.Serializer):
    """The list's query: each given filter narrows it."""

    q = serializers.CharField(required=False, max_length=200, help_text="words the text contains (any case)")
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    language = serializers.ChoiceField(choices=Language.choices, required=False)
    avatar = serializers.IntegerField(required=False, min_value=1, max_value=2 ** 63 - 1,
                                      help_text="an avatar id: the requests it spoke")

    def validate(self, attrs):
        # a query string's empty value would otherwise read as "not given": refuse it, as the schema says
        empty = {name: [serializers.CharField.default_error_messages["blank"]] for name in self.fields
                 if self.initial_data.get(name, None) == ""}
        if empty:
            raise serializers.ValidationError(empty)
        return attrs


class VoiceSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    language = serializers.CharField()
    backend = serializers.CharField()


class CaptionsSerializer(serializers.Serializer):
    vtt = serializers.URLField(help_text="WebVTT (text/vtt), for a <track> or a player")
    srt = serializers.URLField(help_text="SubRip (application/x-subrip), as a download")
    language = serializers.ChoiceField(choices=Language.choices, help_text="the request's language")


class VideoSerializer(serializers.Serializer):
    url = serializers.CharField()
    duration = serializers.FloatField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    fps = serializers.IntegerField()
    size = serializers.IntegerField()
    captions = CaptionsSerializer(allow_null=True, help_text="null only for videos made before captions existed")


class TimingsSerializer(serializers.Serializer):
    tts = serializers.FloatField(allow_null=True)
    audio = serializers.FloatField(allow_null=True)
    face = serializers.FloatField(allow_null=True)
    lipsync = serializers.FloatField(allow_null=True)
    encode = serializers.FloatField(allow_null=True)
    total = serializers.FloatField(allow_null=True)
    queue = serializers.FloatField(allow_null=True)


class GenerationSerializer(serializers.ModelSerializer):
    """The request resource of docs/architecture.md §4."""

    timings = serializers.SerializerMethodField()
    callback_url = serializers.CharField(read_only=True, help_text="where the outcome is POSTed; empty: nowhere")
    error = serializers.CharField(read_only=True, help_text="why it failed or was cancelled, for people; empty otherwise")
    error_code = serializers.CharField(read_only=True, help_text="the same as a stable code, for programs")
    video = serializers.SerializerMethodField()
    avatar_name = serializers.SerializerMethodField(help_text="the avatar that spoke; null once it was deleted")
    stream = serializers.SerializerMethodField(
        help_text="from the moment it runs: the URL of its HLS playlist (EVENT; ends with #EXT-X-ENDLIST), to watch "
                  "it while it is made; null before it runs, for reused videos and once retention removed it")
    stage_label = serializers.CharField(source="get_stage_display", read_only=True)
    has_audio = serializers.SerializerMethodField(help_text="true when made from an uploaded recording")
    reused = serializers.SerializerMethodField(help_text="true when an identical earlier video was reused")
    notes = serializers.SerializerMethodField(help_text="what to know about how it was made, as sentences (e.g. "
                                                        "subtitles=burn with a recording and no text: nothing drawn)")
    expired = serializers.SerializerMethodField(
        help_text="true once retention (RESULT_RETENTION_DAYS) removed the video: `video` is then null and the "
                  "video URL answers 410")
    queue_position = serializers.SerializerMethodField(
        help_text="while queued: how many queued or running requests (all users) were created before this one; "
                  "else null")
    notes = serializers.SerializerMethodField(help_text="what the worker noticed (e.g. an enlarged photo), as "
                                                        "sentences")

    class Meta:
        model = GenerationRequest
        fields = [
            "id", "status", "stage", "stage_label", "progress", "error", "error_code", "text", "language", "avatar",
            "avatar_name", "voice", "engine", "motion", "subtitles", "rate", "frame", "resolution", "background",
            "background_image", "callback_url", "has_audio", "reused", "queue_position", "timings", "notes",
            "video", "stream", "expired", "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_avatar_name(self, obj):
        return obj.avatar.name if obj.avatar_id else None

    def get_notes(self, obj) -> list[str]:
        return obj.note_messages()

    def get_has_audio(self, obj) -> bool:
        return bool(obj.audio)

    def get_expired(self, obj) -> bool:
        return obj.is_expired

    def get_reused(self, obj) -> bool:
        return obj.reused_from_id is not None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_queue_position(self, obj):
        if obj.status != Status.QUEUED:
            return None
        earlier = Q(created_at__lt=obj.created_at) | Q(created_at=obj.created_at, pk__lt=obj.pk)
        return GenerationRequest.objects.unfinished().filter(earlier).count()

    @extend_schema_field(TimingsSerializer)
    def get_timings(self, obj):
        return {name: getattr(obj, f"{name}_seconds") for name in TIMING_FIELDS}

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_stream(self, obj):
        if not obj.stream_dir or obj.is_expired:
            return None
        return absolute(self, reverse("api-generation-stream", args=[obj.pk]))

    @extend_schema_field(VideoSerializer(allow_null=True))
    def get_video(self, obj):
        video = obj.video_or_none
        if video is None:
            return None
        captions = None
        if video.has_captions:
            captions = {"vtt": absolute(self, reverse("api-generation-captions-vtt", args=[obj.pk])),
                        "srt": absolute(self, reverse("api-generation-captions-srt", args=[obj.pk])),
                        "language": obj.language}
        return {
            "url": absolute(self, reverse("api-generation-video", args=[obj.pk])),
            "duration": video.duration, "width": video.width, "height": video.height,
            "fps": video.fps, "size": video.size, "captions": captions,
        }


class LanguageField(serializers.ChoiceField):
    """The request's language; an unknown one gets validation's translated message, as the pages do."""

    def fail(self, key, **kwargs):
        if key == "invalid_choice":
            raise serializers.ValidationError(language_error(kwargs.get("input")), code=key)
        super().fail(key, **kwargs)


class GenerationCreateSerializer(serializers.Serializer):
    """Input only; the real checks live in validation.validate_input so pages and API agree."""

    text = StrictCharField(trim_whitespace=False, allow_blank=True, required=False, default="")
    language = LanguageField(choices=Language.choices)
    avatar = StrictIntegerField(required=False, allow_null=True)
    voice = StrictCharField(required=False, allow_blank=True, default="")
    engine = StrictCharField(required=False, allow_blank=True, default="")
    motion = serializers.ChoiceField(choices=Motion.choices, required=False, allow_blank=True, default="",
                                     help_text="a photo avatar's head motion; empty: the avatar's own setting")
    subtitles = serializers.ChoiceField(choices=Subtitles.choices, required=False, default=Subtitles.NONE,
                                        help_text="captions always come as WebVTT/SRT; burn: also drawn into the video")
    rate = RateField(required=False, default=1.0,
                            help_text="speaking pace from 0.5 to 2.0 (1.0: the voice's own); a voice that cannot "
                                      "change it (a remote service without a rate field) refuses anything but 1.0")
    audio = serializers.FileField(required=False, allow_null=True, default=None,
                                  help_text="your own recording (multipart), spoken instead of the text")
    frame = serializers.ChoiceField(choices=Frame.choices, required=False, allow_blank=True, default="",
                                    help_text="original: the avatar's own size; else the avatar stands centred on a "
                                              "frame of this shape; empty: the avatar's own setting")
    resolution = StrictIntegerField(required=False, allow_null=True, default=None,
                                    help_text="720 or 1080, the short side (ignored for original); empty: the "
                                              "avatar's own setting")
    background = StrictCharField(required=False, allow_blank=True, default="", max_length=BACKGROUND_MAX_LENGTH,
                                 help_text="blur (the photo's surroundings), a colour #rrggbb, or image (with "
                                           "background_image); empty: the avatar's own setting")
    background_image = StrictIntegerField(required=False, allow_null=True, default=None,
                                          help_text="the id of one of your /api/v1/backgrounds/ pictures")
    callback_url = StrictCharField(
        max_length=CALLBACK_URL_MAX_LENGTH, required=False, allow_blank=True, default="",
        validators=[RegexValidator(ABSOLUTE_URI, "Enter a valid URL."),
                    RegexValidator(r"^[Hh][Tt][Tt][Pp][Ss]?://", "Only http and https URLs are allowed.")],
        help_text="POSTed to, signed, when the request finishes (done, failed or cancelled); must lead to a "
                  "public address")


class BackgroundSerializer(serializers.ModelSerializer):
    """One of your background pictures."""

    url = serializers.SerializerMethodField(help_text="the picture (yours only)")

    class Meta:
        model = Background
        fields = ["id", "width", "height", "url", "created_at"]
        read_only_fields = fields

    def get_url(self, obj) -> str:
        return absolute(self, reverse("api-background-file", args=[obj.pk]))


class BackgroundCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="a picture (JPEG, PNG, WebP, BMP), checked like avatar photos")


class TokenRequestSerializer(serializers.Serializer):
    username = StrictCharField()
    password = StrictCharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class QuotaSerializer(serializers.Serializer):
    """Seconds of video made today (UTC) against USER_DAILY_SECONDS."""

    used_seconds = serializers.FloatField(read_only=True)
    limit_seconds = serializers.IntegerField(read_only=True, help_text="0: no daily limit")
    resets_at = serializers.DateTimeField(read_only=True, help_text="the next midnight, UTC")


class MeSerializer(serializers.Serializer):
    """Who the caller is, the secret their webhooks are signed with, and today's quota."""

    username = serializers.CharField(read_only=True)
    webhook_secret = serializers.CharField(
        read_only=True, allow_null=True,
        help_text='X-Avatar-Signature is "sha256=" + hex HMAC-SHA256(this, "<timestamp>.<body>"); null until '
                  'made: by the first request with a callback_url, or POST /api/v1/me/webhook-secret/')
    quota = QuotaSerializer(read_only=True)

from django.db.models import Q
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from avatars.models import Avatar
from generation.models import TIMING_FIELDS, GenerationRequest, Language, Status


class AvatarSerializer(serializers.ModelSerializer):
    image = serializers.SerializerMethodField(help_text="URL of the picture (needs the same authentication)")

    class Meta:
        model = Avatar
        fields = ["id", "name", "image", "is_default"]

    def get_image(self, obj) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(obj.image_url()) if request else obj.image_url()


class VoiceSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    language = serializers.CharField()
    backend = serializers.CharField()


class VideoSerializer(serializers.Serializer):
    url = serializers.CharField()
    duration = serializers.FloatField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    fps = serializers.IntegerField()
    size = serializers.IntegerField()


class TimingsSerializer(serializers.Serializer):
    tts = serializers.FloatField(allow_null=True)
    audio = serializers.FloatField(allow_null=True)
    face = serializers.FloatField(allow_null=True)
    lipsync = serializers.FloatField(allow_null=True)
    encode = serializers.FloatField(allow_null=True)
    total = serializers.FloatField(allow_null=True)
    queue = serializers.FloatField(allow_null=True)


class GenerationSerializer(serializers.ModelSerializer):
    """The request resource of DESIGN §4."""

    timings = serializers.SerializerMethodField()
    error = serializers.CharField(read_only=True, help_text="why it failed or was cancelled, for people; empty otherwise")
    error_code = serializers.CharField(read_only=True, help_text="the same as a stable code, for programs")
    video = serializers.SerializerMethodField()
    stage_label = serializers.CharField(source="get_stage_display", read_only=True)
    has_audio = serializers.SerializerMethodField(help_text="true when made from an uploaded recording")
    reused = serializers.SerializerMethodField(help_text="true when an identical earlier video was reused")
    queue_position = serializers.SerializerMethodField(
        help_text="while queued: how many queued or running requests (all users) were created before this one; "
                  "else null")

    class Meta:
        model = GenerationRequest
        fields = [
            "id", "status", "stage", "stage_label", "progress", "error", "error_code", "text", "language", "avatar",
            "voice", "engine", "has_audio", "reused", "queue_position", "timings", "video", "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields

    def get_has_audio(self, obj) -> bool:
        return bool(obj.audio)

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

    @extend_schema_field(VideoSerializer(allow_null=True))
    def get_video(self, obj):
        video = obj.video_or_none
        if video is None:
            return None
        url = reverse("api-generation-video", args=[obj.pk])
        request = self.context.get("request")
        return {
            "url": request.build_absolute_uri(url) if request else url,
            "duration": video.duration, "width": video.width, "height": video.height,
            "fps": video.fps, "size": video.size,
        }


class GenerationCreateSerializer(serializers.Serializer):
    """Input only; the real checks live in validation.validate_input so pages and API agree."""

    text = serializers.CharField(trim_whitespace=False, allow_blank=True, required=False, default="")
    language = serializers.ChoiceField(choices=Language.choices, error_messages={
        "invalid_choice": "Unknown language «{input}»; choose one of: ru, kk, en."})
    avatar = serializers.IntegerField(required=False, allow_null=True)
    voice = serializers.CharField(required=False, allow_blank=True, default="")
    engine = serializers.CharField(required=False, allow_blank=True, default="")
    audio = serializers.FileField(required=False, allow_null=True, default=None,
                                  help_text="your own recording (multipart), spoken instead of the text")


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from generation import services
from generation.models import GenerationRequest, Video, WebhookAttempt, WebhookDelivery
from generation.validation import validate_input

ADD_FIELDS = ["owner", "avatar", "text", "language", "voice", "engine", "motion", "subtitles", "rate", "callback_url"]


def stored_name(field) -> str:
    """A stored file's name as plain text: media has no public URL to link to."""
    return field.name if field else "—"


class VideoInline(admin.StackedInline):
    model = Video
    extra = 0
    can_delete = False
    fields = readonly_fields = ["file_name", "duration", "fps", "width", "height", "size", "created_at"]

    @admin.display(description="File")
    def file_name(self, obj):
        return stored_name(obj.file)


class WebhookAttemptInline(admin.TabularInline):
    """Every POST to the request's callback_url: what came back and when."""

    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = ["number", "sent_at", "status_code", "error", "duration", "url"]
    ordering = ["sent_at", "id"]

    def has_add_permission(self, request, obj=None):
        return False


class AddRequestForm(forms.ModelForm):
    """A request staff add on a user's behalf: checked as the user's own would be (avatar they may use,
    voice, engine, caps), then made by services.create_generation, so it is queued like any other."""

    class Meta:
        model = GenerationRequest
        fields = ADD_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rate"].required = False  # empty: the voice's own pace (validation says 1.0)

    def clean(self):
        data = super().clean()
        owner = data.get("owner")
        if owner is None or self.errors:
            return data
        avatar = data.get("avatar")
        try:
            self.validated = validate_input(user=owner, text=data.get("text", ""), language=data.get("language"),
                                            avatar=avatar.pk if avatar else None, voice=data.get("voice", ""),
                                            engine=data.get("engine", ""), motion=data.get("motion", ""),
                                            subtitles=data.get("subtitles", ""), rate=data.get("rate"),
                                            callback_url=data.get("callback_url", ""))
        except ValidationError as exc:
            raise ValidationError({field if field in self.fields else None: messages
                                   for field, messages in exc.message_dict.items()})
        refused = services.refusal(owner)
        if refused is not None:
            raise ValidationError(str(refused))
        return data


@admin.register(GenerationRequest)
class GenerationRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "avatar", "language", "status", "stage", "progress", "short_text",
                    "total_seconds", "worker", "created_at"]
    list_filter = ["status", "language", "engine", "avatar", "created_at"]
    search_fields = ["text", "owner__username", "error_code", "error_detail", "worker"]
    date_hierarchy = "created_at"
    list_select_related = ["owner", "avatar"]
    inlines = [VideoInline, WebhookAttemptInline]
    readonly_fields = ["status", "stage", "progress", "error_code", "error_detail", "task_id", "worker", "attempts",
                       "heartbeat_at", "recording", "audio_format", "audio_sha256", "tts_seconds", "audio_seconds",
                       "face_seconds", "lipsync_seconds", "encode_seconds", "total_seconds", "queue_seconds",
                       "created_at", "started_at", "finished_at", "video_link", "idempotency_key", "body_sha256"]
    fieldsets = [
        (None, {"fields": ["owner", "avatar", "text", "language", "voice", "engine", "subtitles", "rate"]}),
        ("State", {"fields": ["status", "stage", "progress", "error_code", "error_detail", "task_id", "worker",
                              "attempts", "heartbeat_at", "video_link"]}),
        ("Webhook and idempotency", {"fields": ["callback_url", "idempotency_key", "body_sha256"]}),
        ("Uploaded recording", {"fields": ["recording", "audio_format", "audio_sha256"]}),
        ("Stage timings (seconds)", {"fields": ["queue_seconds", "tts_seconds", "audio_seconds", "face_seconds",
                                                "lipsync_seconds", "encode_seconds", "total_seconds"]}),
        ("Times", {"fields": ["created_at", "started_at", "finished_at"]}),
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = AddRequestForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        return [(None, {"fields": ADD_FIELDS})] if obj is None else super().get_fieldsets(request, obj)

    def get_inlines(self, request, obj):
        return [] if obj is None else super().get_inlines(request, obj)

    def save_model(self, request, obj, form, change):
        """Adding goes through the create service (caps, reuse, the queue); changing saves the row."""
        if change:
            return super().save_model(request, obj, form, change)
        created = services.create_generation(form.cleaned_data["owner"], form.validated)
        obj.pk, obj._state.adding = created.pk, False
        obj.refresh_from_db()

    @admin.display(description="Recording")
    def recording(self, obj):
        return stored_name(obj.audio)

    @admin.display(description="Text")
    def short_text(self, obj):
        return obj.text[:60]

    @admin.display(description="Video")
    def video_link(self, obj):
        video = obj.video_or_none
        if video is None:
            return "—"
        return format_html('<a href="{}">{}</a> ({:.1f} s)', reverse("admin:generation_video_change", args=[video.pk]),
                           stored_name(video.file), video.duration)


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["id", "request", "duration", "width", "height", "fps", "size", "created_at"]
    search_fields = ["request__text", "request__owner__username"]
    list_filter = ["created_at"]
    fields = readonly_fields = ["request", "file_name", "poster_name", "duration", "fps", "width", "height", "size",
                                "captions_vtt", "created_at"]

    @admin.display(description="File")
    def file_name(self, obj):
        return stored_name(obj.file)

    @admin.display(description="Poster")
    def poster_name(self, obj):
        return stored_name(obj.poster)

    def has_add_permission(self, request):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """A log: staff look, nobody edits by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "request", "url", "state", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["state", "created_at"]
    search_fields = ["url", "request__owner__username"]
    list_select_related = ["request"]
    readonly_fields = ["request", "url", "state", "attempts", "next_attempt_at", "created_at", "body"]


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = ["id", "request", "number", "status_code", "error", "duration", "sent_at", "url"]
    list_filter = ["status_code", "sent_at"]
    search_fields = ["url", "error", "request__owner__username"]
    list_select_related = ["request"]
    date_hierarchy = "sent_at"

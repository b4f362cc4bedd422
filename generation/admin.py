from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from generation.web import services
from generation.models import TIMING_LABELS, TIMING_ORDER, Background, GenerationRequest, Video, WebhookAttempt, WebhookDelivery
from generation.web.validation import validate_input
from generation.web import backgrounds

ADD_FIELDS = ["owner", "avatar", "text", "language", "voice", "engine", "motion", "subtitles", "rate", "frame",
              "resolution", "background", "callback_url"]
TIMING_DIGITS = 2  # 2.27 s: what a person compares; the raw float stays in the database and the API


def seconds_text(value) -> str:
    """Seconds rounded for people ("2.27 s", "2,27 с"), or a dash."""
    if value is None:
        return "—"
    return gettext("%(n)s s") % {"n": number_format(round(value, TIMING_DIGITS), TIMING_DIGITS)}  # number_format cuts, not rounds


def timing_display(key: str):
    """An admin column/field showing one stage's seconds, rounded, under the stage's human name."""
    @admin.display(description=TIMING_LABELS[key], ordering=f"{key}_seconds")
    def show(self, obj):
        return seconds_text(getattr(obj, f"{key}_seconds"))
    show.__name__ = f"{key}_time"
    return show


TIMING_COLUMNS = [f"{key}_time" for key in TIMING_ORDER]


def stored_name(field) -> str:
    """A stored file's name as plain text: media has no public URL to link to."""
    return field.name if field else "—"


class VideoInline(admin.StackedInline):
    model = Video
    extra = 0
    can_delete = False
    fields = readonly_fields = ["file_name", "duration", "fps", "width", "height", "size", "created_at"]

    @admin.display(description=_("File"))
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
        for name in ("frame", "resolution", "background"):  # left out: the avatar's own setting
            self.fields[name].required = False
            self.fields[name].initial = None
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
                                            frame=data.get("frame", ""), resolution=data.get("resolution"),
                                            background=data.get("background", ""),
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
                    "total_time", "worker", "created_at"]
    list_filter = ["status", "language", "engine", "avatar", "created_at"]
    search_fields = ["text", "owner__username", "error_code", "error_detail", "worker"]
    date_hierarchy = "created_at"
    list_select_related = ["owner", "avatar"]
    inlines = [VideoInline, WebhookAttemptInline]
    readonly_fields = ["status", "stage", "progress", "error_code", "error_detail", "task_id", "worker", "attempts",
                       "heartbeat_at", "recording", "audio_format", "audio_sha256", *TIMING_COLUMNS, "created_at",
                       "started_at", "finished_at", "video_link", "idempotency_key", "body_sha256",
                       "background_image", "notes_list"]
    fieldsets = [
        (None, {"fields": ["owner", "avatar", "text", "language", "voice", "engine", "motion", "subtitles", "rate"]}),
        (_("Video format"), {"fields": ["frame", "resolution", "background", "background_image", "notes_list"]}),
        (_("State"), {"fields": ["status", "stage", "progress", "error_code", "error_detail", "task_id", "worker",
                              "attempts", "heartbeat_at", "video_link"]}),
        (_("Webhook and idempotency"), {"fields": ["callback_url", "idempotency_key", "body_sha256"]}),
        (_("Uploaded recording"), {"fields": ["recording", "audio_format", "audio_sha256"]}),
        (_("Stage timings"), {"fields": TIMING_COLUMNS}),
        (_("Times"), {"fields": ["created_at", "started_at", "finished_at"]}),
    ]

    queue_time, tts_time, audio_time = timing_display("queue"), timing_display("tts"), timing_display("audio")
    face_time, lipsync_time = timing_display("face"), timing_display("lipsync")
    encode_time, total_time = timing_display("encode"), timing_display("total")

    def get_readonly_fields(self, request, obj=None):
        """Once made, a request's input is history: changing its text or voice would change nothing."""
        fixed = super().get_readonly_fields(request, obj)
        return fixed if obj is None else [*ADD_FIELDS, *fixed]

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

    @admin.display(description=_("Notes"))
    def notes_list(self, obj):
        return format_html_join("", "<p>{}</p>", ((m,) for m in obj.note_messages())) or "—"

    @admin.display(description=_("Recording"))
    def recording(self, obj):
        return stored_name(obj.audio)

    @admin.display(description=_("Text"))
    def short_text(self, obj):
        return obj.text[:60]

    @admin.display(description=_("Video"))
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

    @admin.display(description=_("File"))
    def file_name(self, obj):
        return stored_name(obj.file)

    @admin.display(description=_("Poster"))
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


@admin.register(Background)
class BackgroundAdmin(admin.ModelAdmin):
    """Users' background pictures: shown by size and owner (the files are private; deleting removes the file)."""

    list_display = ["id", "owner", "width", "height", "created_at"]
    list_select_related = ["owner"]
    readonly_fields = ["owner", "file_name", "width", "height", "created_at"]
    fields = readonly_fields

    @admin.display(description="File")
    def file_name(self, obj):
        return stored_name(obj.file)

    def has_add_permission(self, request):
        return False  # a user's own upload, checked on its way in

    def delete_model(self, request, obj):
        backgrounds.delete_background(obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

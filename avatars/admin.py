import re
from dataclasses import dataclass

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminFileWidget
from django.db import transaction
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from avatars.web import services
from avatars.models import Avatar
from generation.pipeline.types import BACKGROUND_BLUR, BACKGROUND_COLOUR_PATTERN


@dataclass
class LinkedName:
    """What the file widget prints for the current file: its name, linked to `url`."""

    name: str
    url: str

    def __str__(self) -> str:
        return self.name


class PrivateFileInput(AdminFileWidget):
    """The admin's file input, linking the current file to the view that checks who asks
    (media has no public URL)."""

    url = ""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if context["widget"]["is_initial"]:
            context["widget"]["value"] = LinkedName(str(value), self.url)
        return context


class AvatarForm(forms.ModelForm):
    class Meta:
        model = Avatar
        fields = ["name", "source", "owner", "is_active", "is_default", "motion", "frame", "resolution", "background"]
        widgets = {"source": PrivateFileInput}
        help_texts = {"source": _("A photo (JPEG, PNG, WebP, BMP) or a video of up to a minute (MP4, MOV, WebM, "
                                  "MKV). The face is found (tracked, for a video) by the worker after saving.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["source"].widget.url = self.instance.source_url()
        for name in ("frame", "resolution", "background"):  # left out: the model's default
            self.fields[name].required = False

    def clean_frame(self):
        return self.cleaned_data.get("frame") or Avatar._meta.get_field("frame").default

    def clean_resolution(self):
        return self.cleaned_data.get("resolution") or Avatar._meta.get_field("resolution").default

    def clean_background(self):
        """blur or a colour #rrggbb: a picture of one user's cannot be a shared avatar's default."""
        value = (self.cleaned_data.get("background") or BACKGROUND_BLUR).strip().lower()
        if value != BACKGROUND_BLUR and not re.match(BACKGROUND_COLOUR_PATTERN, value):
            raise forms.ValidationError("Use blur (the photo's own surroundings, blurred) or a colour as #rrggbb.")
        return value

    def clean_source(self):
        source = self.cleaned_data.get("source")
        if source and hasattr(source, "read") and "source" in self.changed_data:
            self.detected_kind = services.check_upload(source)
        return source


@admin.register(Avatar)
class AvatarAdmin(admin.ModelAdmin):
    form = AvatarForm
    list_display = ["thumbnail", "name", "kind", "owner", "status_line", "is_active", "is_default", "updated_at"]
    list_display_links = ["thumbnail", "name"]
    list_filter = ["kind", "status", "is_active", "is_default", ("owner", admin.EmptyFieldListFilter)]
    search_fields = ["name", "owner__username"]
    readonly_fields = ["kind", "status_line", "notes_list", "preview_image", "width", "height", "duration",
                       "frame_count", "prepared_at", "error_detail", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "source", "owner", "is_active", "is_default", "motion"]}),
        (_("Video format (when a request does not choose)"), {"fields": ["frame", "resolution", "background"]}),
        (_("Preparation"), {"fields": ["kind", "status_line", "notes_list", "preview_image", "width", "height",
                                    "duration", "frame_count", "prepared_at", "error_detail"]}),
        (_("Times"), {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        kind = getattr(form, "detected_kind", None)
        super().save_model(request, obj, form, change)
        if kind is not None:  # a new or replaced file: (re)prepare it in the worker
            if change:
                services.restart_preparation(obj, kind)
            else:
                type(obj).objects.filter(pk=obj.pk).update(kind=kind)
                transaction.on_commit(lambda: services.queue_preparation(obj))

    def has_delete_permission(self, request, obj=None):
        # an avatar that videos in progress still need cannot be deleted (its button is hidden)
        return super().has_delete_permission(request, obj) and not (obj and services.in_use(obj))

    def delete_model(self, request, obj):
        services.delete_avatar(obj)

    def delete_queryset(self, request, queryset):
        for avatar in queryset:
            try:
                services.delete_avatar(avatar)
            except services.AvatarInUse as exc:
                self.message_user(request, gettext("«%(avatar)s» was kept: %(reason)s") % {"avatar": avatar, "reason": exc},
                                  level="warning")

    @admin.display(description=_("Preview"))
    def thumbnail(self, obj):
        url = obj.thumbnail_url()
        return format_html('<img src="{}" alt="" style="height:48px;border-radius:6px">', url) if url else "—"

    @admin.display(description=_("Status"))
    def status_line(self, obj):
        if obj.status == "preparing":
            return gettext("Preparing… %(progress)s%%") % {"progress": obj.progress}
        if obj.status == "failed":
            return gettext("Failed: %(reason)s") % {"reason": obj.error}
        return obj.get_status_display()

    @admin.display(description=_("Notes"))
    def notes_list(self, obj):
        return format_html_join("", "<p>{}</p>", ((m,) for m in obj.note_messages() if m)) or "—"

    @admin.display(description=_("Detected face"))
    def preview_image(self, obj):
        if not obj.preview:
            return gettext("The worker finds the face after saving; this page then shows it.")
        return format_html('<img src="{}" alt="{}" style="max-width:480px">', obj.preview_url(),
                           gettext("first frame with the face box and 68 landmarks"))

from dataclasses import dataclass

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminFileWidget
from django.utils.html import format_html

from avatars import services
from avatars.models import Avatar


@dataclass
class LinkedName:
    """What the file widget prints for the current file: its name, linked to `url`."""

    name: str
    url: str

    def __str__(self) -> str:
        return self.name


class PrivateImageInput(AdminFileWidget):
    """The admin's file input, linking the current picture to the view that checks who asks
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
        fields = ["name", "image", "is_active", "is_default"]
        widgets = {"image": PrivateImageInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["image"].widget.url = self.instance.image_url()

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image and hasattr(image, "read") and "image" in self.changed_data:
            photo = services.read_photo(image)
            self.detected_face = services.detect_face(photo)
        return image

    def save(self, commit=True):
        avatar = super().save(commit=False)
        face = getattr(self, "detected_face", None)
        if face is not None:
            avatar.set_face(face)
        if commit:
            avatar.save()
        return avatar


@admin.register(Avatar)
class AvatarAdmin(admin.ModelAdmin):
    form = AvatarForm
    list_display = ["thumbnail", "name", "is_active", "is_default", "has_face", "analysed_at", "updated_at"]
    list_display_links = ["thumbnail", "name"]
    list_filter = ["is_active", "is_default"]
    search_fields = ["name"]
    readonly_fields = ["face_preview", "face_box", "image_width", "image_height", "analysed_at", "created_at", "updated_at"]

    @admin.display(description="Photo")
    def thumbnail(self, obj):
        return format_html('<img src="{}" style="height:48px;border-radius:6px">', obj.image_url()) if obj.image else "—"

    @admin.display(boolean=True, description="Face")
    def has_face(self, obj):
        return obj.has_face

    @admin.display(description="Detected face")
    def face_preview(self, obj):
        uri = services.face_preview_data_uri(obj) if obj.pk else None
        if not uri:
            return "Saved photos are analysed on upload; a photo without a face is refused."
        return format_html('<img src="{}" alt="face box and 68 landmarks" style="max-width:360px">', uri)

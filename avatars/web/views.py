"""A user's own avatars (a page to add and delete them), and avatar files served to those who may see them.

There is no public media route: the uploaded file and the preview go out through these views only.
"""
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from avatars.web import selectors, services
from avatars.models import Kind
from generation.shared import storage
from generation.webkit import files
from generation.webkit.outage import storage_unavailable_message
from generation.webkit.throttles import AvatarUploadThrottle, page_throttled

VIDEO_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm", ".mkv": "video/x-matroska"}


class AvatarUploadForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    file = forms.FileField(label=gettext_lazy("Photo or video"), widget=forms.ClearableFileInput(
        attrs={"accept": "image/jpeg,image/png,image/webp,image/bmp,video/mp4,video/quicktime,video/webm,"
                         "video/x-matroska,.mkv"}))


@login_required
def own_avatars(request):
    """The user's own avatars: add a photo or a video, see preparation, delete."""
    wait = page_throttled(request, AvatarUploadThrottle) if request.method == "POST" else None
    if wait is not None:  # the upload API's budget, shared: nothing is read or checked
        response = render(request, "avatars/own.html", {
            "form": AvatarUploadForm(initial={"name": request.POST.get("name", "")}),
            "avatars": selectors.own_avatars(request.user), "limit": settings.MAX_OWN_AVATARS,
            "busy": _("Too many avatars added; try again in %(seconds)s s.") % {"seconds": wait}}, status=429)
        response["Retry-After"] = str(wait)
        return response
    form = AvatarUploadForm(request.POST or None, request.FILES or None)
    status = None
    if request.method == "POST" and form.is_valid():
        try:
            services.add_own_avatar(request.user, form.cleaned_data["name"], form.cleaned_data["file"])
        except services.TooManyPreparing as exc:
            form.add_error("file", str(exc))
            status = 429
        except ValidationError as exc:
            form.add_error("file", exc.messages[0])
        except Exception as exc:
            if not storage.is_unavailable(exc):
                raise
            form.add_error("file", storage_unavailable_message())  # the form stays filled in; nothing was made
            status = 503
        else:
            return redirect("own-avatars")
    status = status or (400 if form.errors else 200)
    return render(request, "avatars/own.html", {"form": form, "avatars": selectors.own_avatars(request.user),
                                                "limit": settings.MAX_OWN_AVATARS}, status=status)


@login_required
@require_POST
def delete(request, pk):
    avatar = selectors.own_avatar(request.user, pk)
    try:
        services.delete_avatar(avatar)
    except services.AvatarInUse as exc:
        return render(request, "avatars/own.html", {"form": AvatarUploadForm(), "busy": str(exc),
                                                    "avatars": selectors.own_avatars(request.user),
                                                    "limit": settings.MAX_OWN_AVATARS}, status=409)
    return redirect("own-avatars")


@login_required
@require_POST
def rename(request, pk):
    """A new name for one of the user's own avatars (another user's or a shared one: 404)."""
    avatar = selectors.own_avatar(request.user, pk)
    try:
        services.rename_avatar(avatar, request.POST.get("name", ""))
    except ValidationError as exc:
        return render(request, "avatars/own.html", {"form": AvatarUploadForm(), "busy": exc.messages[0],
                                                    "avatars": selectors.own_avatars(request.user),
                                                    "limit": settings.MAX_OWN_AVATARS}, status=400)
    return redirect(f"{reverse('own-avatars')}#avatar-{avatar.pk}")


@login_required
@require_GET
def source(request, pk):
    """The uploaded photo or video, typed by what it is (never by its name), as an attachment."""
    return source_response(request, selectors.visible_avatar(request.user, pk))


@login_required
@require_GET
def preview(request, pk):
    """The first frame with the tracked face box and landmarks (PNG), once preparation made it."""
    return preview_response(request, selectors.visible_avatar(request.user, pk))


@login_required
@require_GET
def thumbnail(request, pk):
    """The first frame as it is (JPEG), for the avatar pickers, once preparation made it."""
    avatar = selectors.visible_avatar(request.user, pk)
    if not avatar.thumbnail:
        raise Http404("No thumbnail yet.")
    return files.file_response(request, avatar.thumbnail, content_type="image/jpeg",
                                   filename=f"avatar-{avatar.pk}.jpg")


def source_response(request, avatar):
    """The avatar's uploaded file as an attachment (the page and the API serve it alike)."""
    pk = avatar.pk
    if not avatar.source:
        raise Http404("This avatar has no file.")
    if avatar.kind == Kind.VIDEO:
        extension = "." + avatar.source.name.rsplit(".", 1)[-1].lower()
        mime = VIDEO_TYPES.get(extension, "application/octet-stream")
    else:
        mime = files.sniff_image_type(avatar.source)
        extension = "." + (mime.rsplit("/", 1)[-1].replace("jpeg", "jpg") if mime.startswith("image/") else "bin")
    return files.file_response(request, avatar.source, content_type=mime, filename=f"avatar-{pk}{extension}")


def preview_response(request, avatar):
    """The avatar's preview PNG (the page and the API serve it alike)."""
    if not avatar.preview:
        raise Http404("No preview yet.")
    return files.file_response(request, avatar.preview, content_type="image/png",
                                   filename=f"avatar-{avatar.pk}.png")

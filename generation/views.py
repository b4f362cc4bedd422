import os
import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from generation import selectors, services, voices
from generation.downloads import video_response
from generation.forms import GenerateForm
from generation.models import Language, Stage

POSTER_AT_SECONDS = 0.0  # the first frame: mouth closed, eyes open (blinks come later)
POSTER_QUALITY = 85
FLAGS = {"ru": "🇷🇺", "kk": "🇰🇿", "en": "🇬🇧"}


def js_strings() -> dict:
    """The words generate.js shows, in the request's language (a json_script catalogue, no extra request)."""
    return {
        "stages": {choice.value: str(choice.label) for choice in Stage},
        "timings": [["total", _("Total")], ["tts", _("Speech (TTS)")], ["lipsync", _("Lip sync")],
                    ["encode", _("Encoding")], ["audio", _("Audio")], ["face", _("Face")], ["queue", _("Queue")]],
        "seconds": _("%(n)s s"),
        "decimal": formats.get_format("DECIMAL_SEPARATOR"),  # as the server writes numbers, whatever ICU the browser has
        "queue_position": _("You are number %(n)s in the queue"),
        "failed": _("The video could not be made."),
        "offline": _("The server cannot be reached. Please try again."),
        "server_error": _("Something went wrong on the server. Please try again later."),
    }


@login_required
def generate(request):
    if request.method == "POST":
        form = GenerateForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                generation = services.create_generation(owner=request.user, **form.validated)
            except services.TooManyActive as exc:
                form.add_error(None, str(exc))
            else:
                return redirect(generation)
    else:
        form = GenerateForm()
    avatars = list(selectors.active_avatars())
    default = next((a for a in avatars if a.is_default), avatars[0] if avatars else None)
    context = {
        "form": form,
        "avatars": avatars,
        "default_avatar": default,
        "languages": [(code, FLAGS[code], label) for code, label in Language.choices],
        "js_strings": js_strings(),
        "voices": {lang.value: [{"id": v.id, "name": v.name} for v in voices.voices(lang.value)] for lang in Language},
        "max_text_length": settings.MAX_TEXT_LENGTH,
        "recent": selectors.user_generations(request.user)[:5],
    }
    return render(request, "generation/generate.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def history(request):
    page = Paginator(selectors.user_generations(request.user), 12).get_page(request.GET.get("page"))
    return render(request, "generation/history.html", {"page": page})


@login_required
@require_GET
def detail(request, pk):
    generation = selectors.user_generation(request.user, pk)
    return render(request, "generation/detail.html", {"generation": generation})


@login_required
@require_GET
def video(request, pk):
    generation = selectors.user_generation(request.user, pk)
    video = selectors.finished_video(generation)
    return video_response(request, video, download_name=f"avatar-{generation.pk}.mp4",
                          as_attachment=request.GET.get("download") == "1")


@login_required
@require_GET
def poster(request, pk):
    """A JPEG frame of the owner's video, extracted once and cached next to it as `<video>.jpg`."""
    generation = selectors.user_generation(request.user, pk)
    video = selectors.finished_video(generation)
    storage = video.file.storage
    path = storage.path(f"{video.file.name}.jpg")
    if not os.path.exists(path):
        from PIL import Image

        from generation.pipeline.types import PipelineError
        from generation.pipeline.video import extract_frame

        try:
            frame = extract_frame(storage.path(video.file.name), POSTER_AT_SECONDS)
        except PipelineError:
            raise Http404("No frame can be read from this video.")
        partial = f"{path}.{uuid.uuid4().hex[:8]}.tmp"  # two first requests at once must not see half a file
        Image.fromarray(frame).save(partial, "JPEG", quality=POSTER_QUALITY)
        os.replace(partial, path)
    response = FileResponse(open(path, "rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
@require_POST
def delete(request, pk):
    services.delete_generation(selectors.user_generation(request.user, pk))
    return redirect("history")


@login_required
@require_POST
def cancel(request, pk):
    generation = selectors.user_generation(request.user, pk)
    services.cancel_generation(generation)
    return redirect(generation)


@login_required
def api_token(request):
    """The user's API token: show it, issue a new one (revoking the old), or revoke it."""
    from rest_framework.authtoken.models import Token

    if request.method == "POST":
        Token.objects.filter(user=request.user).delete()
        if request.POST.get("action") == "create":
            Token.objects.create(user=request.user)
        return redirect("api-token-page")
    token = Token.objects.filter(user=request.user).first()
    return render(request, "generation/api_token.html", {"token": token})

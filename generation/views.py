from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from avatarsite.errors import STORAGE_RETRY_AFTER_SECONDS, storage_unavailable_message
from generation import downloads, selectors, services, storage, voices, webhooks
from generation.forms import GenerateForm
from generation.models import Language, Stage
from generation.throttles import page_throttled

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
        "subtitles": _("Subtitles"),
        "failed": _("The video could not be made."),
        "offline": _("The server cannot be reached. Please try again."),
        "server_error": _("Something went wrong on the server. Please try again later."),
        "sample_loading": _("Loading the sample…"),
        "sample_not_ready": _("The sample of this voice is not ready yet; try again in a few seconds."),
        "sample_failed": _("The sample could not be played."),
    }


@login_required
def generate(request):
    wait = page_throttled(request) if request.method == "POST" else None
    quota_wait, storage_down = None, False
    if wait is not None:  # the text stays in the form; nothing is validated or decoded
        form = GenerateForm(initial=request.POST.dict(), user=request.user)
    elif request.method == "POST":
        form = GenerateForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            try:
                generation = services.create_generation(request.user, form.validated)
            except services.TooManyActive as exc:
                form.add_error(None, str(exc))
            except services.QuotaExceeded as exc:
                form.add_error(None, str(exc))
                quota_wait = exc.retry_after
            except Exception as exc:
                if not storage.is_unavailable(exc):  # an uploaded recording the bucket would not take
                    raise
                form.add_error(None, storage_unavailable_message())
                storage_down = True
            else:
                return redirect(generation)
    else:
        form = GenerateForm(user=request.user)
    avatars = list(selectors.usable_avatars(request.user))
    wanted = request.POST.get("avatar") or request.GET.get("avatar")
    default = next((a for a in avatars if str(a.pk) == wanted), None) or \
        next((a for a in avatars if a.is_default), avatars[0] if avatars else None)
    context = {
        "form": form,
        "avatars": avatars,
        "default_avatar": default,
        "languages": [(code, FLAGS[code], label) for code, label in Language.choices],
        "js_strings": js_strings(),
        "voices": {lang.value: [{"id": v.id, "name": v.name} for v in voices.voices(lang.value)] for lang in Language},
        "max_text_length": settings.MAX_TEXT_LENGTH,
        "recent": selectors.user_generations(request.user)[:5],
        "throttled": _("Too many videos requested; try again in %(seconds)s s.") % {"seconds": wait} if wait else "",
    }
    status = 429 if wait is not None or quota_wait is not None else 503 if storage_down else 400 if form.errors else 200
    response = render(request, "generation/generate.html", context, status=status)
    if quota_wait is not None or storage_down:
        response["Retry-After"] = str(quota_wait if quota_wait is not None else STORAGE_RETRY_AFTER_SECONDS)
    return response


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
    video = selectors.finished_video(generation)  # expired: 410 (avatarsite.errors)
    return downloads.file_response(request, video.file, content_type="video/mp4", filename=f"avatar-{generation.pk}.mp4",
                                   inline=request.GET.get("download") != "1")


@login_required
@require_GET
def poster(request, pk):
    """The JPEG the worker made of the video's first frame."""
    video = selectors.finished_video(selectors.user_generation(request.user, pk))
    if not video.poster:
        raise Http404("This video has no poster.")
    return downloads.file_response(request, video.poster, content_type="image/jpeg",
                                   filename=f"avatar-{pk}.jpg")


@login_required
@require_GET
def captions(request, pk, fmt):
    """The owner's captions for the page's <track> (WebVTT, inline) and the download links."""
    generation = selectors.user_generation(request.user, pk)
    return downloads.captions_response(generation, selectors.finished_video(generation), fmt,
                                       download=request.GET.get("download") == "1")


@login_required
@require_GET
def recording(request, pk):
    """The owner's uploaded recording, as the audio type validation detected, never inline."""
    generation = selectors.user_generation(request.user, pk)
    return downloads.recording_response(request, generation)


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


@never_cache  # the page shows a secret: no copy in any cache
@login_required
def api_token(request):
    """The user's API token: show it, issue a new one (revoking the old), or revoke it."""
    from rest_framework.authtoken.models import Token

    if request.method == "POST":
        action = request.POST.get("action")
        if action == "rotate-webhook-secret":
            webhooks.rotate_secret(request.user)
        else:
            Token.objects.filter(user=request.user).delete()
            if action == "create":
                Token.objects.create(user=request.user)
        return redirect("api-token-page")
    token = Token.objects.filter(user=request.user).first()
    return render(request, "generation/api_token.html",
                  {"token": token, "webhook_secret": webhooks.secret_for(request.user)})

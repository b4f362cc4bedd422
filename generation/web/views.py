from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from generation import webhooks
from generation.shared import storage, voices
from generation.web import backgrounds, downloads, selectors, services, sharing, tokens
from generation.web.forms import GenerateForm
from generation.models import TIMING_LABELS, TIMING_ORDER, Language, Stage, Status
from generation.webkit import files
from generation.webkit.outage import STORAGE_RETRY_AFTER_SECONDS, storage_unavailable_message
from generation.webkit.throttles import page_throttled

FLAGS = {"ru": "🇷🇺", "kk": "🇰🇿", "en": "🇬🇧"}


def js_strings() -> dict:
    """The words generate.js shows, in the request's language (a json_script catalogue, no extra request)."""
    return {
        "stages": {choice.value: str(choice.label) for choice in Stage},
        "timings": [[key, str(TIMING_LABELS[key])] for key in TIMING_ORDER],  # in pipeline order
        "seconds": _("%(n)s s"),
        "decimal": formats.get_format("DECIMAL_SEPARATOR"),  # as the server writes numbers, whatever ICU the browser has
        "queue_position": _("You are number %(n)s in the queue"),
        "statuses": {choice.value: str(choice.label) for choice in Status},
        "languages": {choice.value: str(choice.label) for choice in Language},
        "subtitles": _("Subtitles"),
        "failed": _("The video could not be made."),
        "offline": _("The server cannot be reached. Please try again."),
        "server_error": _("Something went wrong on the server. Please try again later."),
        "choose_picture": _("Choose a picture to upload."),
        "my_picture": _("My picture #%(n)s"),
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
        source = selectors.remake_source(request.user, request.GET.get("from"))
        form = GenerateForm(user=request.user, initial=remake_initial(source) if source else None)
    avatars = list(selectors.usable_avatars(request.user))
    wanted = request.POST.get("avatar") or request.GET.get("avatar") or form.initial.get("avatar")
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
        "backgrounds": list(backgrounds.owned(request.user)),
        "throttled": _("Too many videos requested; try again in %(seconds)s s.") % {"seconds": wait} if wait else "",
    }
    status = 429 if wait is not None or quota_wait is not None else 503 if storage_down else 400 if form.errors else 200
    response = render(request, "generation/generate.html", context, status=status)
    if quota_wait is not None or storage_down:
        response["Retry-After"] = str(quota_wait if quota_wait is not None else STORAGE_RETRY_AFTER_SECONDS)
    return response


def remake_initial(source) -> dict:
    """The Create form filled from an earlier request ("again with changes"); a recording is not carried over."""
    return {"text": source.text, "language": source.language, "voice": source.voice, "motion": source.motion,
            "subtitles": source.subtitles, "avatar": str(source.avatar_id or "")}


@login_required
@require_GET
def history(request):
    filters = selectors.HistoryFilters.from_query(request.GET)
    found = filters.apply(selectors.user_generations(request.user))
    page = Paginator(found, 12).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "generation/history.html", {
        "page": page, "filters": filters, "query": query.urlencode(),
        "statuses": Status.choices, "languages": Language.choices,
        "avatars": selectors.history_avatars(request.user)})


@login_required
@require_GET
def detail(request, pk):
    generation = selectors.user_generation(request.user, pk)
    return render(request, "generation/detail.html", detail_context(generation))


SHARE_DAYS = (1, 7, 30)  # what the page offers; the API takes any time up to SHARE_LINK_MAX_DAYS


def detail_context(generation, share_url: str = "") -> dict:
    shareable = sharing.is_shareable(generation)
    return {"generation": generation, "shareable": shareable, "share_url": share_url,
            "share_link": sharing.active_link(generation) if shareable else None,
            "share_days": SHARE_DAYS, "share_default_days": settings.SHARE_LINK_DAYS}


@login_required
@require_POST
def share(request, pk):
    """Make a share link (shown on this answer only: just its hash is kept) or revoke it."""
    generation = selectors.user_generation(request.user, pk)
    if request.POST.get("action") == "revoke":
        sharing.revoke(generation)
        return redirect(generation)
    days = request.POST.get("days", "")
    seconds = int(days) * 86400 if days.isdigit() and int(days) in SHARE_DAYS else None
    try:
        token, _link = sharing.make_link(generation, seconds)
    except sharing.NotShareable:
        raise Http404("Only a finished video can be shared.")
    url = request.build_absolute_uri(reverse("share-page", args=[token]))
    response = render(request, "generation/detail.html", detail_context(generation, url))
    response["Cache-Control"] = "no-store"  # the page shows the link's secret
    return response


@login_required
@require_GET
def video(request, pk):
    generation = selectors.user_generation(request.user, pk)
    video = selectors.finished_video(generation)  # expired: 410 (generation.web.error_pages)
    return files.file_response(request, video.file, content_type="video/mp4", filename=f"avatar-{generation.pk}.mp4",
                                   inline=request.GET.get("download") != "1")


@login_required
@require_GET
def poster(request, pk):
    """The JPEG the worker made of the video's first frame."""
    video = selectors.finished_video(selectors.user_generation(request.user, pk))
    if not video.poster:
        raise Http404("This video has no poster.")
    return files.file_response(request, video.poster, content_type="image/jpeg",
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
def stream(request, pk, name="index.m3u8"):
    """The owner's HLS stream of a request while it is made (and after): the playlist or one of its files."""
    return downloads.stream_response(request, selectors.user_generation(request.user, pk), name)


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
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "rotate-webhook-secret":
            webhooks.rotate_secret(request.user)
        elif action == "create":
            tokens.issue_token(request.user)
        else:
            tokens.revoke_token(request.user)
        return redirect("api-token-page")
    token = tokens.token_of(request.user)
    return render(request, "generation/api_token.html",
                  {"token": token, "webhook_secret": webhooks.secret_for(request.user)})

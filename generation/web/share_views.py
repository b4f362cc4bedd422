"""The public side of share links: a page with the player, and the video, poster and captions behind it.

No login: the token in the path is the only key, and nothing here names the owner, their other
videos or the avatar. Every answer is a 404 once the link is revoked or expired or the video gone.
"""
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from generation.web import downloads, sharing
from generation.webkit import files

FILE_STEM = "shared-video"  # never the request's id


def _private(response):
    # the token is in the URL: no search engine, no Referer to anyone
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    if "no-store" not in response.get("Cache-Control", ""):  # a signed redirect keeps its no-store
        response["Cache-Control"] = "private, no-cache"  # asked again each time: a revoked link stops at once
    return response


@require_GET
def page(request, token):
    generation = sharing.shared_generation(token)
    return _private(render(request, "generation/shared.html", {"generation": generation, "token": token}))


@require_GET
def video(request, token):
    generation = sharing.shared_generation(token)
    return _private(files.file_response(request, generation.video.file, content_type="video/mp4",
                                            filename=f"{FILE_STEM}.mp4", inline=request.GET.get("download") != "1"))


@require_GET
def poster(request, token):
    generation = sharing.shared_generation(token)
    if not generation.video.poster:
        raise Http404("This video has no poster.")
    return _private(files.file_response(request, generation.video.poster, content_type="image/jpeg",
                                            filename=f"{FILE_STEM}.jpg"))


@require_GET
def captions(request, token, fmt):
    generation = sharing.shared_generation(token)
    return _private(downloads.captions_response(generation, generation.video, fmt,
                                                download=request.GET.get("download") == "1", stem=FILE_STEM))

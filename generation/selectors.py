"""Reads: what a user may see. Nothing here writes."""
from django.http import Http404
from django.shortcuts import get_object_or_404

from avatars.models import Avatar
from generation.models import GenerationRequest


def user_generations(user):
    return GenerationRequest.objects.owned_by(user).select_related("avatar", "video")


def user_generation(user, pk) -> GenerationRequest:
    """The user's own request or 404 (another user's request is indistinguishable from none)."""
    return get_object_or_404(user_generations(user), pk=pk)


def finished_video(generation: GenerationRequest):
    """The request's video, or 404 while there is none yet."""
    video = generation.video_or_none
    if video is None:
        raise Http404("The video is not ready.")
    return video


def active_avatars():
    return Avatar.objects.active()


def visible_avatar(user, pk) -> Avatar:
    """An avatar the user may look at (any active one; staff: any), or 404."""
    avatars = Avatar.objects.all() if user.is_staff else Avatar.objects.active()
    return get_object_or_404(avatars, pk=pk)

"""Reads of avatars for the avatar pages: a user's own, and one they may look at. Nothing here writes."""
from django.shortcuts import get_object_or_404

from avatars.models import Avatar


def own_avatars(user):
    return Avatar.objects.filter(owner=user).order_by("-created_at", "-id")


def visible_avatar(user, pk) -> Avatar:
    """An avatar the user may look at (shared active ones and their own; staff: any), or 404."""
    avatars = Avatar.objects.all() if user.is_staff else Avatar.objects.visible_to(user)
    return get_object_or_404(avatars, pk=pk)


def own_avatar(user, pk) -> Avatar:
    """One of the user's own avatars, or 404 (another user's is indistinguishable from none)."""
    return get_object_or_404(Avatar.objects.filter(owner=user), pk=pk)

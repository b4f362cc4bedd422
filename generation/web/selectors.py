"""Reads: what a user may see. Nothing here writes."""
from dataclasses import dataclass

from django.http import Http404
from django.shortcuts import get_object_or_404

from django.db.models import Q

from avatars.models import Avatar, AvatarStatus
from generation.models import GenerationRequest, Language, Status

MAX_QUERY_LENGTH = 200  # characters of a history search
FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)


def user_generations(user):
    return GenerationRequest.objects.owned_by(user).select_related("avatar", "video")


@dataclass(frozen=True)
class HistoryFilters:
    """What the history is narrowed to: words in the text, a status, a language, an avatar (None: any)."""

    q: str = ""
    status: str | None = None
    language: str | None = None
    avatar: int | None = None

    @classmethod
    def from_query(cls, params) -> "HistoryFilters":
        """From a page's query string: unknown values are ignored (the API refuses them, see its serializer)."""
        status, language, avatar = params.get("status"), params.get("language"), params.get("avatar", "")
        return cls(q=params.get("q", "").strip()[:MAX_QUERY_LENGTH],
                   status=status if status in Status.values else None,
                   language=language if language in Language.values else None,
                   avatar=int(avatar) if avatar.isdigit() and len(avatar) < 19 else None)

    def apply(self, generations):
        if self.q:
            generations = generations.filter(text__icontains=self.q)
        if self.status:
            generations = generations.filter(status=self.status)
        if self.language:
            generations = generations.filter(language=self.language)
        if self.avatar is not None:
            generations = generations.filter(avatar_id=self.avatar)
        return generations

    @property
    def active(self) -> bool:
        return bool(self.q or self.status or self.language or self.avatar is not None)


def history_avatars(user):
    """The avatars the user's history used (to filter by), by name."""
    return Avatar.objects.filter(generations__owner=user).distinct().order_by("name", "id")


def remake_source(user, pk) -> GenerationRequest | None:
    """The user's own finished request to start a new one from, or None (another user's: None as well)."""
    if not pk or not str(pk).isdigit() or len(str(pk)) > 18:
        return None
    return user_generations(user).filter(pk=int(pk), status__in=FINISHED).first()


def user_generation(user, pk) -> GenerationRequest:
    """The user's own request or 404 (another user's request is indistinguishable from none)."""
    return get_object_or_404(user_generations(user), pk=pk)


class ResultExpired(Exception):
    """The request's video was removed by retention (RESULT_RETENTION_DAYS): 410 Gone, not 404."""

    def __init__(self):
        from django.utils.translation import gettext

        super().__init__(gettext("This video was removed after the retention period; make it again if you need it."))


def finished_video(generation: GenerationRequest):
    """The request's video, or 404 while there is none yet; ResultExpired once retention removed it."""
    if generation.is_expired:
        raise ResultExpired()
    video = generation.video_or_none
    if video is None:
        raise Http404("The video is not ready.")
    return video


def usable_avatars(user):
    """Avatars the user may make videos with: shared ones first, then their own."""
    return Avatar.objects.usable_by(user).in_list_order()


def listed_avatars(user):
    """What the API lists: shared ready avatars and all of the user's own."""
    return (Avatar.objects.filter(Q(owner__isnull=True, is_active=True, status=AvatarStatus.READY) | Q(owner=user))
            .in_list_order())

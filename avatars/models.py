from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from generation.shared import errors
from generation.pipeline.types import BACKGROUND_BLUR, DEFAULT_MOTION, DEFAULT_RESOLUTION, FRAME_ORIGINAL, MOTION_LEVELS, Face
from generation.shared.formats import Frame, Resolution
from generation.uploads import avatar_upload_to
from avatars.messages import error_message, note_message


class Kind(models.TextChoices):
    PHOTO = "photo", _("Photo")
    VIDEO = "video", _("Video")


class Motion(models.TextChoices):
    """How much a photo avatar's head moves while it speaks (a video avatar moves as it was filmed)."""

    NONE = "none", _("Still")
    SUBTLE = "subtle", _("Subtle")
    LIVELY = "lively", _("Lively")


assert tuple(Motion.values) == MOTION_LEVELS, "Motion choices and pipeline.types.MOTION_LEVELS disagree"


class AvatarStatus(models.TextChoices):
    PREPARING = "preparing", _("Preparing")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


# The built-in demo avatar is stored under its Russian name (databases made before this kept it); it is shown
# in the interface language. Avatars people name themselves are shown as typed.
BUILT_IN_NAMES = {"Астронавт": _("Astronaut")}


# A preparation's states: `preparing` is two of them, waiting for a worker (claimed_at empty) or claimed.
WAITING, CLAIMED, READY, FAILED = "waiting", "claimed", "ready", "failed"
PREPARATION_STATES = {
    WAITING: Q(status=AvatarStatus.PREPARING, claimed_at__isnull=True),
    CLAIMED: Q(status=AvatarStatus.PREPARING, claimed_at__isnull=False),
    READY: Q(status=AvatarStatus.READY),
    FAILED: Q(status=AvatarStatus.FAILED),
}
# method -> (the states it may start from, the state it leaves): the one table (docs/architecture.md §3);
# tests/test_lifecycle_transitions.py tries every pair it does not list.
PREPARATION_TRANSITIONS = {
    "claim": ({WAITING}, CLAIMED),
    "heartbeat": ({CLAIMED}, CLAIMED),
    "requeue": ({CLAIMED, FAILED}, WAITING),  # a run whose worker went silent; a failure on the bucket
    "mark_ready": ({CLAIMED}, READY),
    "fail": ({CLAIMED}, FAILED),
    "restart": ({WAITING, CLAIMED, READY, FAILED}, WAITING),  # the source changed (admin): prepare again
}
# what a preparation that starts afresh forgets: its claim by a worker (a running one then stops)
UNCLAIMED = {"claimed_at": None, "heartbeat_at": None, "attempts": 0, "worker": ""}
# what a failed preparation drops: nothing half-made stays referenced
UNPREPARED = {"preview": "", "thumbnail": "", "clip_data": "", "clip_frames": ""}


def preparation_sources(method: str) -> Q:
    """The rows `method` may start from."""
    found = Q(pk__in=[])
    for state in PREPARATION_TRANSITIONS[method][0]:
        found |= PREPARATION_STATES[state]
    return found


class AvatarQuerySet(models.QuerySet):
    def in_list_order(self):
        """As avatars are listed (pages, the API) and preselected: the default, shared ones, own ones; by name."""
        return self.order_by("-is_default", F("owner_id").asc(nulls_first=True), "name", "id")

    def active(self):
        return self.filter(is_active=True)

    def shared(self):
        return self.filter(owner__isnull=True)

    def ready(self):
        return self.filter(status=AvatarStatus.READY)

    def visible_to(self, user):
        """Shared active avatars and the user's own (staff see every avatar in the admin, not here)."""
        return self.filter(Q(owner__isnull=True, is_active=True) | Q(owner=user))

    def usable_by(self, user):
        """What the user may make videos with: visible, active and prepared."""
        return self.visible_to(user).active().ready()

    # preparation's transitions: each one conditional UPDATE, True when it applied -----------------------

    def run(self, pk: int, claimed_at):
        """The row while this run still owns it: gone once deleted, restarted or taken over."""
        return self.filter(preparation_sources("heartbeat"), pk=pk, claimed_at=claimed_at)

    def claim(self, pk: int, *, worker: str) -> bool:
        """waiting → claimed by this worker, a new attempt (one worker wins)."""
        now = timezone.now()
        return bool(self.filter(preparation_sources("claim"), pk=pk).update(
            claimed_at=now, heartbeat_at=now, progress=0, attempts=F("attempts") + 1, worker=worker))

    def heartbeat(self, pk: int, claimed_at, *, progress: int | None = None) -> bool:
        """A sign of life of this run (with its progress when given); False once it is no longer ours."""
        fields = {"heartbeat_at": timezone.now(), **({"progress": progress} if progress is not None else {})}
        return bool(self.run(pk, claimed_at).update(**fields))

    def requeue(self, pk: int, claimed_at=None) -> bool:
        """Waiting again: the run claimed at `claimed_at` whose worker went silent (its attempts still count),
        or, with no `claimed_at`, a preparation that failed on the bucket (a fresh start: attempts from 0)."""
        if claimed_at is not None:
            rows, fresh = self.filter(PREPARATION_STATES[CLAIMED], pk=pk, claimed_at=claimed_at), {}
        else:
            rows = self.filter(PREPARATION_STATES[FAILED], pk=pk, error_code=errors.STORAGE_UNAVAILABLE)
            fresh = {"attempts": 0, "worker": ""}
        return bool(rows.filter(preparation_sources("requeue")).update(
            status=AvatarStatus.PREPARING, progress=0, error_code="", error_params={}, error_detail="",
            claimed_at=None, heartbeat_at=None, **fresh))

    def mark_ready(self, pk: int, claimed_at, **prepared) -> bool:
        """claimed → ready with what preparation found (only those fields: staff may edit the rest meanwhile)."""
        now = timezone.now()
        return bool(self.run(pk, claimed_at).update(
            **prepared, status=AvatarStatus.READY, progress=100, prepared_at=now, updated_at=now, error_code="",
            error_params={}, error_detail=""))

    def fail(self, pk: int, claimed_at, *, code: str, detail: str, params: dict | None = None) -> bool:
        """claimed → failed with a code users are told and a detail for staff; no half-made files referenced."""
        return bool(self.run(pk, claimed_at).update(
            status=AvatarStatus.FAILED, error_code=code, error_params=params or {}, error_detail=detail[:4000],
            updated_at=timezone.now(), **UNPREPARED))

    def restart(self, pk: int, *, kind: str) -> bool:
        """Any state → waiting, everything found before forgotten (the source changed)."""
        return bool(self.filter(preparation_sources("restart"), pk=pk).update(
            kind=kind, status=AvatarStatus.PREPARING, progress=0, error_code="", error_params={}, error_detail="",
            notes=[], face_box=None, face_landmarks=None, duration=None, frame_count=None, prepared_at=None,
            **UNPREPARED, **UNCLAIMED))


class Avatar(models.Model):
    """A photo or a short video that speaks; its face analysis is prepared once, in the worker."""

    name = models.CharField(verbose_name=_("name"), max_length=100)
    kind = models.CharField(verbose_name=_("kind"), max_length=5, choices=Kind.choices, default=Kind.PHOTO)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True, on_delete=models.CASCADE,
                              related_name="avatars", help_text=_("empty: shared with every user (managed by staff)"))
    source = models.FileField(verbose_name=_("source file"), upload_to=avatar_upload_to, help_text=_("the photo or video as uploaded"))
    is_active = models.BooleanField(verbose_name=_("active"), default=True)
    is_default = models.BooleanField(verbose_name=_("default"), default=False, help_text=_("Preselected on the generate page."))
    motion = models.CharField(verbose_name=_("head motion"), max_length=6, choices=Motion.choices, default=DEFAULT_MOTION,
                              help_text=_("head motion of a photo avatar when a request does not choose"))
    # the format a request gets when it does not choose (generation.models.Frame / Resolution)
    frame = models.CharField(verbose_name=_("frame"), max_length=8, choices=Frame.choices, default=FRAME_ORIGINAL,
                             help_text=_("the output frame of a request that does not choose"))
    resolution = models.PositiveSmallIntegerField(verbose_name=_("resolution"), choices=Resolution.choices,
                                                  default=DEFAULT_RESOLUTION,
                                                  help_text=_("the short side of a framed video"))
    background = models.CharField(verbose_name=_("background"), max_length=7, default=BACKGROUND_BLUR,
                                  help_text=_("blur (the photo's surroundings, blurred) or a colour #rrggbb"))

    status = models.CharField(verbose_name=_("status"), max_length=10, choices=AvatarStatus.choices, default=AvatarStatus.PREPARING,
                              db_index=True)
    progress = models.PositiveSmallIntegerField(verbose_name=_("progress"), default=0)
    error_code = models.CharField(verbose_name=_("error code"), max_length=40, blank=True)
    error_params = models.JSONField(verbose_name=_("error parameters"), default=dict, blank=True)
    error_detail = models.TextField(verbose_name=_("error details"), blank=True, help_text=_("for staff and logs only"))
    notes = models.JSONField(verbose_name=_("notes"), default=list, blank=True, help_text=_("what preparation dropped or noticed"))
    task_id = models.CharField(verbose_name=_("task ID"), max_length=64, blank=True)
    # A preparation is claimed by one worker at a time (compare-and-set on claimed_at), and taken over
    # like a generation when its heartbeat stops (generation.recovery).
    claimed_at = models.DateTimeField(verbose_name=_("claimed at"), null=True, blank=True, editable=False,
                                      help_text=_("when a worker took it; empty while it waits"))
    heartbeat_at = models.DateTimeField(verbose_name=_("last heartbeat"), null=True, blank=True, editable=False,
                                        help_text=_("last sign of life of the worker preparing it"))
    attempts = models.PositiveSmallIntegerField(verbose_name=_("attempts"), default=0, editable=False, help_text=_("times a worker started it"))
    worker = models.CharField(verbose_name=_("worker"), max_length=120, blank=True, editable=False, help_text=_("host:pid that prepared it"))

    # What preparation found: photo -> one face in the JSON fields; video -> per-frame arrays in files
    face_box = models.JSONField(verbose_name=_("face box"), null=True, blank=True, editable=False)
    face_landmarks = models.JSONField(verbose_name=_("face landmarks"), null=True, blank=True, editable=False)
    width = models.PositiveIntegerField(verbose_name=_("width"), null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(verbose_name=_("height"), null=True, blank=True, editable=False)
    duration = models.FloatField(verbose_name=_("duration"), null=True, blank=True, editable=False, help_text=_("seconds of usable video"))
    frame_count = models.PositiveIntegerField(verbose_name=_("frame count"), null=True, blank=True, editable=False)
    preview = models.FileField(verbose_name=_("preview"), upload_to="avatars/prepared/", blank=True, editable=False,
                               help_text=_("first frame with the face box and landmarks"))
    thumbnail = models.FileField(verbose_name=_("thumbnail"), upload_to="avatars/prepared/", blank=True,
                                 editable=False, help_text=_("the first frame as it is (JPEG), for the avatar pickers"))
    clip_data = models.FileField(verbose_name=_("clip data"), upload_to="avatars/prepared/", blank=True, editable=False,
                                 help_text=_("per-frame landmarks and boxes (.npz)"))
    clip_frames = models.FileField(verbose_name=_("clip frames"), upload_to="avatars/prepared/", blank=True, editable=False,
                                   help_text=_("the prepared frames (JPEGs, random access)"))
    prepared_at = models.DateTimeField(verbose_name=_("prepared at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    objects = AvatarQuerySet.as_manager()

    @property
    def display_name(self) -> str:
        """The name people read: a built-in shared avatar's in the interface language, any other as stored."""
        built_in = BUILT_IN_NAMES.get(self.name) if self.owner_id is None else None
        return str(built_in) if built_in is not None else self.name

    class Meta:
        verbose_name = _("avatar")
        verbose_name_plural = _("avatars")
        ordering = ["-is_default", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_avatar"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_ready(self) -> bool:
        return self.status == AvatarStatus.READY

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None

    def source_url(self) -> str:
        """Where the uploaded file is served, to those who may see this avatar."""
        return reverse("avatar-source", args=[self.pk])

    def preview_url(self) -> str:
        """Where the first frame with the tracked face box is served."""
        return reverse("avatar-preview", args=[self.pk])

    def thumbnail_url(self) -> str:
        """The clean first frame once prepared (no face box: that is the preview's, for the admin); before that,
        or for an avatar prepared before thumbnails existed, a photo shows itself and a video its preview."""
        if self.thumbnail:
            return reverse("avatar-thumbnail", args=[self.pk])
        if self.preview and self.kind == Kind.VIDEO:
            return self.preview_url()
        return self.source_url() if self.kind == Kind.PHOTO and self.source else ""

    @property
    def error(self) -> str:
        """Why preparation failed, for the user, in the active language."""
        return error_message(self.error_code, self.error_params) if self.error_code else ""

    def note_messages(self) -> list[str]:
        """What preparation dropped or noticed, as sentences in the active language."""
        return [note_message(note) for note in self.notes or []]

    @property
    def has_face(self) -> bool:
        return bool(self.face_box and self.face_landmarks)

    def face(self):
        """A photo's stored analysis as a pipeline `Face`, or None when not analysed."""
        if not self.has_face:
            return None
        return Face.from_dict({"box": self.face_box, "landmarks": self.face_landmarks,
                               "image_size": [self.width, self.height]})

    def set_face(self, face) -> None:
        data = face.to_dict()
        self.face_box = data["box"]
        self.face_landmarks = data["landmarks"]
        self.width, self.height = data["image_size"]

    def prepared_files(self) -> list:
        """Files preparation made, to remove when the source changes or the avatar goes."""
        return [f for f in (self.preview, self.thumbnail, self.clip_data, self.clip_frames) if f]

    def save(self, *args, **kwargs):
        with transaction.atomic():
            if self.is_default:
                Avatar.objects.filter(is_default=True).exclude(pk=self.pk).update(is_default=False)
            super().save(*args, **kwargs)

    @classmethod
    def default(cls, user=None):
        """The avatar preselected for `user`: the default shared one, else the first usable one."""
        avatars = cls.objects.usable_by(user) if user is not None else cls.objects.shared().active().ready()
        return avatars.in_list_order().first()

    def mark_prepared(self) -> None:
        self.status, self.progress, self.prepared_at = AvatarStatus.READY, 100, timezone.now()
        self.error_code, self.error_params, self.error_detail = "", {}, ""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from generation.pipeline.types import LANGUAGES, PIPELINE_TIMINGS, SUBTITLE_MODES
from generation.uploads import audio_upload_to

# Seconds spent per pipeline stage (what the worker measures), then the whole run and the wait before it.
TIMING_FIELDS = PIPELINE_TIMINGS + ("queue",)


CALLBACK_URL_MAX_LENGTH = 2000  # what browsers and proxies reliably pass along
IDEMPOTENCY_KEY_MAX_LENGTH = 255


class Language(models.TextChoices):
    RUSSIAN = "ru", _("Russian")
    KAZAKH = "kk", _("Kazakh")
    ENGLISH = "en", _("English")


# the pipeline's list is the one truth; the choices only add the translated names
assert tuple(Language.values) == LANGUAGES, "Language choices and pipeline.types.LANGUAGES disagree"


class Subtitles(models.TextChoices):
    NONE = "none", _("As a separate track only")
    BURN = "burn", _("Burned into the picture")


assert tuple(Subtitles.values) == SUBTITLE_MODES, "Subtitles choices and pipeline.types.SUBTITLE_MODES disagree"


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Stage(models.TextChoices):
    QUEUED = "queued", _("In the queue…")
    TTS = "tts", _("Synthesizing speech…")
    AUDIO = "audio", _("Processing audio…")
    FACE = "face", _("Finding the face…")
    LIPSYNC = "lipsync", _("Syncing the lips…")
    ENCODE = "encode", _("Assembling the video…")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Error")


class GenerationRequestQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(owner=user)

    def unfinished(self):
        return self.filter(status__in=[Status.QUEUED, Status.RUNNING])


class GenerationRequest(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generations")
    avatar = models.ForeignKey("avatars.Avatar", null=True, on_delete=models.SET_NULL, related_name="generations",
                               help_text="empty once the avatar was deleted (the video stays)")
    text = models.TextField(blank=True)
    audio = models.FileField(upload_to=audio_upload_to, blank=True,
                             help_text="the user's own recording, spoken instead of synthesized text")
    audio_format = models.CharField(max_length=40, blank=True, help_text="the demuxer validation detected")
    audio_sha256 = models.CharField(max_length=64, blank=True, help_text="of the bytes validation accepted")
    language = models.CharField(max_length=2, choices=Language.choices)
    voice = models.CharField(max_length=100, blank=True)
    engine = models.CharField(max_length=20, blank=True)
    motion = models.CharField(max_length=6, blank=True, help_text="none | subtle | lively (photo avatars)")
    subtitles = models.CharField(max_length=4, choices=Subtitles.choices, default=Subtitles.NONE,
                                 help_text="burn: the captions are also drawn into the video's frames")
    rate = models.FloatField(default=1.0, help_text="speaking pace, 0.5-2.0 (1.0: the voice's own)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=40, blank=True, help_text="what users are told (see generation.errors)")
    error_detail = models.TextField(blank=True, help_text="for staff and logs only: may name files or hosts")
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="times a worker started it")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="last sign of life of the worker running it")
    reused_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    help_text="an identical earlier request whose video was reused")
    worker = models.CharField(max_length=120, blank=True, help_text="host:pid that rendered it")
    callback_url = models.URLField(max_length=CALLBACK_URL_MAX_LENGTH, blank=True,
                                   help_text="POSTed to (signed) when the request finishes")
    idempotency_key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH, blank=True,
                                       help_text="the client's Idempotency-Key header; cleared once reused after 24 h")
    body_sha256 = models.CharField(max_length=64, blank=True, help_text="of the canonical request body, for that key")

    tts_seconds = models.FloatField(null=True, blank=True)
    audio_seconds = models.FloatField(null=True, blank=True)
    face_seconds = models.FloatField(null=True, blank=True)
    lipsync_seconds = models.FloatField(null=True, blank=True)
    encode_seconds = models.FloatField(null=True, blank=True)
    total_seconds = models.FloatField(null=True, blank=True)
    queue_seconds = models.FloatField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                      help_text="when retention removed its video (RESULT_RETENTION_DAYS)")

    objects = GenerationRequestQuerySet.as_manager()
    replayed = False  # not stored: True when services.create_generation answered an Idempotency-Key replay

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # two simultaneous POSTs with one key: the second insert fails and is answered with the first
            models.UniqueConstraint(fields=["owner", "idempotency_key"], condition=~models.Q(idempotency_key=""),
                                    name="generation_unique_idempotency_key"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_language_display()} «{self.text[:40]}»"

    def get_absolute_url(self) -> str:
        return reverse("generation-detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (Status.DONE, Status.FAILED, Status.CANCELLED)

    @property
    def error(self) -> str:
        """What the user is told went wrong, in the active language; never internals."""
        from generation.errors import user_message

        return user_message(self.error_code) if self.error_code else ""

    @property
    def is_expired(self) -> bool:
        return self.expired_at is not None

    @property
    def video_or_none(self):
        try:
            return self.video
        except Video.DoesNotExist:
            return None


class Video(models.Model):
    request = models.OneToOneField(GenerationRequest, on_delete=models.CASCADE, related_name="video")
    file = models.FileField(upload_to="videos/%Y/%m/")
    poster = models.FileField(upload_to="videos/%Y/%m/", blank=True, help_text="JPEG of the first frame")
    duration = models.FloatField()
    fps = models.PositiveSmallIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveBigIntegerField(help_text="bytes")
    # A few kilobytes at most (the text is capped), so fields rather than files: they go and come with the row.
    captions_vtt = models.TextField(blank=True, help_text="WebVTT; empty for videos made before captions existed")
    captions_srt = models.TextField(blank=True, help_text="the same cues as SubRip")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.file.name} ({self.duration:.1f}s)"

    @property
    def has_captions(self) -> bool:
        return bool(self.captions_vtt)


class SyncWait(models.Model):
    """One POST /api/generate holding a web worker while it waits; counted to cap them."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)


class DailyUsage(models.Model):
    """Seconds of video rendered for a user on one UTC day (USER_DAILY_SECONDS counts these).

    A ledger of its own, written when a video is finished, so that deleting a video (or retention
    removing it) does not give the seconds back.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    seconds = models.FloatField(default=0.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "day"], name="one_usage_row_per_user_day")]


class WebhookSecret(models.Model):
    """The key a user's webhooks are signed with (HMAC-SHA256); made on first use, rotatable."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_secret")
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now=True, help_text="when it was made or last rotated")

    def __str__(self) -> str:
        return f"webhook secret of {self.user}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One finished request's notification to its callback_url: the frozen body and its retry state."""

    request = models.ForeignKey(GenerationRequest, on_delete=models.CASCADE, related_name="webhook_deliveries")
    url = models.URLField(max_length=CALLBACK_URL_MAX_LENGTH)
    body = models.TextField(help_text="the JSON sent, byte for byte the same on every attempt")
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING,
                             db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                           help_text="when the poller hands it to a worker again")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"webhook of #{self.request_id} ({self.state})"


class WebhookAttempt(models.Model):
    """One POST of a delivery: what came back (or why nothing did) and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows")
    request = models.ForeignKey(GenerationRequest, on_delete=models.CASCADE, related_name="webhook_attempts")
    number = models.PositiveSmallIntegerField()
    url = models.URLField(max_length=CALLBACK_URL_MAX_LENGTH)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True, help_text="for staff: connection error, refusal, timeout")
    sent_at = models.DateTimeField(auto_now_add=True, db_index=True)
    duration = models.FloatField(help_text="seconds")

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.request_id} attempt {self.number}: {self.status_code or self.error}"

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from avatars.models import Motion  # avatars.models imports generation.shared.formats, not this module: no cycle
from generation.shared.formats import Frame, Resolution  # noqa: F401 (re-exported: the request's choices)
from generation.lifecycle import FINISHED, GenerationRequestQuerySet, Stage, Status  # noqa: F401 (re-exported)
from generation.pipeline.types import BACKGROUND_BLUR as BLUR
from generation.pipeline.types import DEFAULT_RESOLUTION, LANGUAGES, PIPELINE_TIMINGS, STAGES, SUBTITLE_MODES, VISEME, WAV2LIP
from generation.uploads import audio_upload_to, background_upload_to
from generation.shared.errors import note_message, user_message
from generation.shared import voices

# Seconds spent per pipeline stage (what the worker measures), then the whole run and the wait before it.
TIMING_FIELDS = PIPELINE_TIMINGS + ("queue",)


# What people read for the engines and the timings (admin, pages, the create page's script).
ENGINE_LABELS = {VISEME: _("built-in lip-sync"), WAV2LIP: "Wav2Lip"}  # one per types.ENGINES
TIMING_ORDER = ("queue", *STAGES, "total")  # as the pipeline runs, then the sum
TIMING_LABELS = {
    "queue": _("Waiting in the queue"),
    "tts": _("Speech synthesis"),
    "audio": _("Audio preparation"),
    "face": _("Face analysis"),
    "lipsync": _("Lip sync"),
    "encode": _("Video encoding"),
    "total": _("Total"),
}

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


BACKGROUND_MAX_LENGTH = 7  # "blur", "image" or "#rrggbb"


class Background(models.Model):
    """A picture a user uploaded to put behind their avatar; private to them."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backgrounds")
    file = models.FileField(upload_to=background_upload_to)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"background #{self.pk} ({self.width}×{self.height})"


class GenerationRequest(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="generations")
    avatar = models.ForeignKey("avatars.Avatar", verbose_name=_("avatar"), null=True, on_delete=models.SET_NULL, related_name="generations",
                               help_text=_("empty once the avatar was deleted (the video stays)"))
    text = models.TextField(verbose_name=_("text"), blank=True)
    audio = models.FileField(verbose_name=_("recording"), upload_to=audio_upload_to, blank=True,
                             help_text=_("the user's own recording, spoken instead of synthesized text"))
    audio_format = models.CharField(verbose_name=_("recording format"), max_length=40, blank=True, help_text=_("the demuxer validation detected"))
    audio_sha256 = models.CharField(verbose_name=_("recording SHA-256"), max_length=64, blank=True, help_text=_("of the bytes validation accepted"))
    language = models.CharField(verbose_name=_("language"), max_length=2, choices=Language.choices)
    voice = models.CharField(verbose_name=_("voice"), max_length=100, blank=True)
    engine = models.CharField(verbose_name=_("lip-sync engine"), max_length=20, blank=True)
    motion = models.CharField(verbose_name=_("head motion"), max_length=6, blank=True, choices=Motion.choices, help_text=_("a photo avatar's; empty: the avatar's own setting"))
    subtitles = models.CharField(verbose_name=_("subtitles"), max_length=4, choices=Subtitles.choices, default=Subtitles.NONE,
                                 help_text=_("burned in: the captions are also drawn into the video's frames"))
    rate = models.FloatField(verbose_name=_("pace"), default=1.0,
                             help_text=_("speaking pace, 0.5-2.0 (1.0: the voice's own)"))
    frame = models.CharField(verbose_name=_("frame"), max_length=8, choices=Frame.choices, default=Frame.ORIGINAL)
    resolution = models.PositiveSmallIntegerField(verbose_name=_("resolution"), choices=Resolution.choices,
                                                  default=DEFAULT_RESOLUTION,
                                                  help_text=_("the short side; ignored for the original frame"))
    background = models.CharField(verbose_name=_("background"), max_length=BACKGROUND_MAX_LENGTH, default=BLUR,
                                  help_text=_("blur | #rrggbb | image (background_image)"))
    background_image = models.ForeignKey(Background, verbose_name=_("background picture"), null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+",
                                         help_text=_("the owner's picture, for background=image"))
    notes = models.JSONField(verbose_name=_("notes"), default=list, blank=True,
                             help_text=_("what the worker noticed, e.g. an enlarged photo"))
    status = models.CharField(verbose_name=_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    stage = models.CharField(verbose_name=_("stage"), max_length=10, choices=Stage.choices, default=Stage.QUEUED)
    progress = models.PositiveSmallIntegerField(verbose_name=_("progress"), default=0)
    error_code = models.CharField(verbose_name=_("error code"), max_length=40, blank=True, help_text=_("what users are told (see generation.errors)"))
    error_detail = models.TextField(verbose_name=_("error details"), blank=True, help_text=_("for staff and logs only: may name files or hosts"))
    task_id = models.CharField(verbose_name=_("task ID"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(verbose_name=_("attempts"), default=0, help_text=_("times a worker started it"))
    heartbeat_at = models.DateTimeField(verbose_name=_("last heartbeat"), null=True, blank=True, help_text=_("last sign of life of the worker running it"))
    reused_from = models.ForeignKey("self", verbose_name=_("reused from"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    help_text=_("an identical earlier request whose video was reused"))
    worker = models.CharField(verbose_name=_("worker"), max_length=120, blank=True, help_text=_("host:pid that rendered it"))
    callback_url = models.URLField(verbose_name=_("callback URL"), max_length=CALLBACK_URL_MAX_LENGTH, blank=True,
                                   help_text=_("POSTed to (signed) when the request finishes"))
    idempotency_key = models.CharField(verbose_name=_("Idempotency-Key"), max_length=IDEMPOTENCY_KEY_MAX_LENGTH, blank=True,
                                       help_text=_("the client's Idempotency-Key header; cleared once reused after 24 h"))
    body_sha256 = models.CharField(verbose_name=_("body SHA-256"), max_length=64, blank=True, help_text=_("of the canonical request body, for that key"))
    stream_dir = models.CharField(verbose_name=_("stream folder"), max_length=200, blank=True,
                                  help_text=_("stored folder of the HLS stream this run publishes (generation.streams)"))

    tts_seconds = models.FloatField(verbose_name=_("speech synthesis (s)"), null=True, blank=True)
    audio_seconds = models.FloatField(verbose_name=_("audio preparation (s)"), null=True, blank=True)
    face_seconds = models.FloatField(verbose_name=_("face analysis (s)"), null=True, blank=True)
    lipsync_seconds = models.FloatField(verbose_name=_("lip sync (s)"), null=True, blank=True)
    encode_seconds = models.FloatField(verbose_name=_("video encoding (s)"), null=True, blank=True)
    total_seconds = models.FloatField(verbose_name=_("total (s)"), null=True, blank=True)
    queue_seconds = models.FloatField(verbose_name=_("waiting in the queue (s)"), null=True, blank=True)

    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(verbose_name=_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(verbose_name=_("finished at"), null=True, blank=True)
    expired_at = models.DateTimeField(verbose_name=_("expired at"), null=True, blank=True, db_index=True,
                                      help_text=_("when retention removed its video (RESULT_RETENTION_DAYS)"))

    objects = GenerationRequestQuerySet.as_manager()
    replayed = False  # not stored: True when services.create_generation answered an Idempotency-Key replay

    class Meta:
        verbose_name = _("video request")
        verbose_name_plural = _("video requests")
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
        return self.status in FINISHED

    @property
    def error(self) -> str:
        """What the user is told went wrong, in the active language; never internals."""
        return user_message(self.error_code) if self.error_code else ""

    def note_messages(self) -> list[str]:
        """What the user should know about how it was made (the worker's notes, then the request's own), as
        sentences in the active language; nothing in most cases."""
        messages = [m for m in (note_message(note) for note in self.notes or []) if m]
        if self.subtitles == Subtitles.BURN and self.audio and not self.text.strip():
            messages.append(str(_("No subtitles were drawn into this video: a recording sent without its text has "
                                  "no words to show.")))
        return messages

    @property
    def is_expired(self) -> bool:
        return self.expired_at is not None

    @property
    def video_or_none(self):
        try:
            return self.video
        except Video.DoesNotExist:
            return None

    @property
    def engine_label(self) -> str:
        """The lip-sync engine as people call it."""
        return str(ENGINE_LABELS.get(self.engine, self.engine))

    @property
    def voice_label(self) -> str:
        """The voice by its name in the interface language; empty for a recording (no voice was used)."""
        if self.audio or not self.voice:
            return ""
        return voices.display_name_of(self.voice, self.language)

    @property
    def pipeline_timings(self) -> list[tuple[str, str, float | None]]:
        """(key, label, seconds) of each stage in pipeline order; a recording was never synthesised."""
        return [(key, str(TIMING_LABELS[key]), getattr(self, f"{key}_seconds"))
                for key in TIMING_ORDER if not (key == "tts" and self.audio)]



class Video(models.Model):
    request = models.OneToOneField(GenerationRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="video")
    file = models.FileField(verbose_name=_("file"), upload_to="videos/%Y/%m/")
    poster = models.FileField(verbose_name=_("poster"), upload_to="videos/%Y/%m/", blank=True, help_text=_("JPEG of the first frame"))
    duration = models.FloatField(verbose_name=_("duration"))
    fps = models.PositiveSmallIntegerField(verbose_name=_("frames per second"))
    width = models.PositiveIntegerField(verbose_name=_("width"))
    height = models.PositiveIntegerField(verbose_name=_("height"))
    size = models.PositiveBigIntegerField(verbose_name=_("size"), help_text=_("bytes"))
    # A few kilobytes at most (the text is capped), so fields rather than files: they go and come with the row.
    captions_vtt = models.TextField(verbose_name=_("captions (WebVTT)"), blank=True, help_text=_("WebVTT; empty for videos made before captions existed"))
    captions_srt = models.TextField(verbose_name=_("captions (SRT)"), blank=True, help_text=_("the same cues as SubRip"))
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("video")
        verbose_name_plural = _("videos")

    def __str__(self) -> str:
        return f"{self.file.name} ({self.duration:.1f}s)"

    @property
    def has_captions(self) -> bool:
        """True when there are words to show: a recording sent without text makes a WebVTT with no cue."""
        return "-->" in self.captions_vtt


class SyncWait(models.Model):
    """One POST /api/generate holding a web worker while it waits; counted to cap them."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(verbose_name=_("started at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("synchronous wait")
        verbose_name_plural = _("synchronous waits")


class DailyUsage(models.Model):
    """Seconds of video rendered for a user on one UTC day (USER_DAILY_SECONDS counts these).

    A ledger of its own, written when a video is finished, so that deleting a video (or retention
    removing it) does not give the seconds back.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="+")
    day = models.DateField(verbose_name=_("day"))
    seconds = models.FloatField(verbose_name=_("seconds"), default=0.0)

    class Meta:
        verbose_name = _("daily usage")
        verbose_name_plural = _("daily usage")
        constraints = [models.UniqueConstraint(fields=["owner", "day"], name="one_usage_row_per_user_day")]


class WebhookSecret(models.Model):
    """The key a user's webhooks are signed with (HMAC-SHA256); made on first use, rotatable."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="webhook_secret")
    secret = models.CharField(verbose_name=_("secret"), max_length=100)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now=True, help_text=_("when it was made or last rotated"))

    class Meta:
        verbose_name = _("webhook secret")
        verbose_name_plural = _("webhook secrets")

    def __str__(self) -> str:
        return f"webhook secret of {self.user}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One finished request's notification to its callback_url: the frozen body and its retry state."""

    request = models.ForeignKey(GenerationRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="webhook_deliveries")
    url = models.URLField(verbose_name=_("URL"), max_length=CALLBACK_URL_MAX_LENGTH)
    body = models.TextField(verbose_name=_("body"), help_text=_("the JSON sent, byte for byte the same on every attempt"))
    state = models.CharField(verbose_name=_("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING,
                             db_index=True)
    attempts = models.PositiveSmallIntegerField(verbose_name=_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(verbose_name=_("next attempt at"), null=True, blank=True, db_index=True,
                                           help_text=_("when the poller hands it to a worker again"))
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"webhook of #{self.request_id} ({self.state})"


class WebhookAttempt(models.Model):
    """One POST of a delivery: what came back (or why nothing did) and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="attempt_rows")
    request = models.ForeignKey(GenerationRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="webhook_attempts")
    number = models.PositiveSmallIntegerField(verbose_name=_("number"))
    url = models.URLField(verbose_name=_("URL"), max_length=CALLBACK_URL_MAX_LENGTH)
    status_code = models.PositiveSmallIntegerField(verbose_name=_("HTTP status"), null=True, blank=True)
    error = models.CharField(verbose_name=_("error"), max_length=300, blank=True, help_text=_("for staff: connection error, refusal, timeout"))
    sent_at = models.DateTimeField(verbose_name=_("sent at"), auto_now_add=True, db_index=True)
    duration = models.FloatField(verbose_name=_("duration"), help_text=_("seconds"))

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.request_id} attempt {self.number}: {self.status_code or self.error}"


class ShareLink(models.Model):
    """A finished video's public link: whoever has the token may watch it, until it expires or is revoked.

    Only the token's SHA-256 is stored: the database (or a backup of it) cannot be turned into links.
    One link per request; making a new one replaces the old.
    """

    request = models.OneToOneField(GenerationRequest, on_delete=models.CASCADE, related_name="share_link",
                                   verbose_name=_("request"))
    token_sha256 = models.CharField(max_length=64, unique=True, verbose_name=_("token hash"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    expires_at = models.DateTimeField(db_index=True, verbose_name=_("expires"))

    class Meta:
        verbose_name = _("share link")
        verbose_name_plural = _("share links")

    def __str__(self) -> str:
        return f"share link of #{self.request_id}"

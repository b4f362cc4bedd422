from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from generation.uploads import image_upload_to


class AvatarQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Avatar(models.Model):
    """A photo that speaks, with its face analysis stored so workers never redo it."""

    name = models.CharField(max_length=100)
    image = models.ImageField(upload_to=image_upload_to)
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False, help_text="Preselected on the generate page.")
    face_box = models.JSONField(null=True, blank=True, editable=False)
    face_landmarks = models.JSONField(null=True, blank=True, editable=False)
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    analysed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AvatarQuerySet.as_manager()

    class Meta:
        ordering = ["-is_default", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_avatar"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def image_url(self) -> str:
        """Where the picture is served, to those who may see this avatar."""
        return reverse("avatar-image", args=[self.pk])

    @property
    def has_face(self) -> bool:
        return bool(self.face_box and self.face_landmarks)

    def face(self):
        """The stored analysis as a pipeline `Face`, or None when not analysed."""
        if not self.has_face:
            return None
        from generation.pipeline.types import Face

        return Face.from_dict(
            {
                "box": self.face_box,
                "landmarks": self.face_landmarks,
                "image_size": [self.image_width, self.image_height],
            }
        )

    def set_face(self, face) -> None:
        data = face.to_dict()
        self.face_box = data["box"]
        self.face_landmarks = data["landmarks"]
        self.image_width, self.image_height = data["image_size"]
        self.analysed_at = timezone.now()

    def save(self, *args, **kwargs):
        with transaction.atomic():
            if self.is_default:
                Avatar.objects.filter(is_default=True).exclude(pk=self.pk).update(is_default=False)
            super().save(*args, **kwargs)

    @classmethod
    def default(cls):
        return cls.objects.active().order_by("-is_default", "id").first()

"""What users read about an avatar's preparation: translated messages for error codes and notes.

Times are seconds in the uploaded clip, so a user can find the spot in their own recording.
"""
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from generation.shared.errors import user_message
from generation.pipeline import limits
from generation.pipeline import types as pipeline

PHOTO_FORMATS = ", ".join(limits.PHOTO_FORMAT_NAMES)
VIDEO_FORMATS = ", ".join(limits.VIDEO_FORMAT_NAMES)

ERRORS = {
    pipeline.AVATAR_UNREADABLE: _("The file cannot be read as a picture."),
    pipeline.FACE_NOT_FOUND: _("No face was found on this photo. Use a clear, frontal portrait with the whole "
                               "face visible."),
    pipeline.FACE_TOO_SMALL: _("The face is too small for lip sync; use a closer portrait."),
    pipeline.VIDEO_INVALID: _("The file is not a video we can read (allowed: %(formats)s)."),
    pipeline.VIDEO_UNSUPPORTED: _("This kind of video is not accepted; use %(formats)s with H.264, H.265, VP8, VP9 "
                                  "or AV1."),
    pipeline.VIDEO_TOO_LONG: _("The video is %(seconds)s s long; the limit is %(limit)s s."),
    pipeline.VIDEO_TOO_LARGE: _("The video is %(width)s×%(height)s; the limit is %(limit)s pixels on the long side."),
    pipeline.VIDEO_FRAME_RATE: _("The video has %(fps)s frames per second; the limit is %(limit)s."),
    pipeline.CLIP_NO_FACE: _("No face was found anywhere in the video."),
}
STRETCH_REASONS = {
    "no_face": _("No usable stretch of at least %(minimum)s s: the face is lost at %(at)s s (the longest stretch "
                 "with a face is %(longest)s s)."),
    "second_face": _("No usable stretch of at least %(minimum)s s: a second, larger face appears at %(at)s s (the "
                     "longest stretch without it is %(longest)s s)."),
    "cut": _("No usable stretch of at least %(minimum)s s: the shot changes at %(at)s s (the longest single shot "
             "is %(longest)s s)."),
}
PLACES = {"left": _("on the left"), "middle": _("in the middle"), "right": _("on the right")}
NOTES = {
    "photo_faces": _("There are %(count)s faces on this photo: the largest one, %(place)s, speaks."),
    "dropped_no_face": _("%(start)s–%(end)s s left out: no face there."),
    "dropped_second_face": _("%(start)s–%(end)s s left out: a second, larger face."),
    "dropped_cut": _("%(start)s–%(end)s s left out: another shot."),
    "talking": _("The person talks in this clip."),  # older preparations only: talking clips now feed the mouth bank
    "loop_turns": _("This clip never comes back to a pose it had, so for longer speech it plays back and forth "
                    "between %(start)s and %(end)s s; a clip that ends as it began loops forward only."),
    "loop_seam": _("For speech longer than the clip, it goes on from %(start)s s after %(end)s s, and the head "
                   "jumps a little there; a clip that ends as it began loops without a jump."),
    "bank_good": _("The clip shows the mouth open in %(share)s%% of its frames: good, the avatar speaks with the "
                   "person's own mouth."),
    "bank_some": _("The clip shows the mouth open in only %(share)s%% of its frames: the avatar speaks with the "
                   "person's own mouth, in fewer shapes; a clip of natural speech gives it more."),
    "bank_still": _("The mouth stays closed in this clip, so a drawn mouth is used for speech; a clip of the person "
                    "speaking naturally lets the avatar speak with their own mouth."),
    "bank_open": _("The mouth never closes in this clip, so a drawn mouth is used for speech; a clip of the person "
                   "speaking naturally lets the avatar speak with their own mouth."),
}


def _numbers(params: dict) -> dict:
    """Seconds and sizes as the active language writes them (one decimal for times)."""
    return {k: number_format(v, 1) if isinstance(v, float) else v for k, v in (params or {}).items()}


def error_message(code: str, params: dict | None = None) -> str:
    """Why preparing an avatar failed, in the active language."""
    values = {"formats": VIDEO_FORMATS, **_numbers(params or {})}
    if code == pipeline.CLIP_NO_USABLE_STRETCH:
        template = STRETCH_REASONS.get(values.get("reason"), STRETCH_REASONS["no_face"])
    elif code in ERRORS:
        template = ERRORS[code]
    else:
        return user_message(code)
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):  # params from an older release: the sentence without numbers
        return str(ERRORS.get(code, _("The avatar could not be prepared.")))


def note_message(note: dict) -> str:
    """One note of a prepared avatar (what was left out, what was noticed), in the active language."""
    template = NOTES.get(note.get("code"))
    if template is None:
        return ""
    try:
        return str(template) % {**_numbers({"start": float(note.get("start", 0)), "end": float(note.get("end", 0))}),
                                "share": round(100 * float(note.get("share") or 0)),
                                "count": int(note.get("count") or 0), "place": str(PLACES.get(note.get("place"), ""))}
    except (TypeError, ValueError):
        return str(template)

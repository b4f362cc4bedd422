"""Responses that hand out a generation's own files: its recording, captions and HLS stream.

The hardening, HTTP Range and the bucket's signed links are generation.webkit.files', which serves
the video, the poster and the avatar pictures as well; these add what only a generation has.
"""
from django.conf import settings
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse

from generation.shared import storage
from generation.shared import streams
from generation.web import selectors
from generation.webkit import files

# generation.pipeline modules are imported inside the functions that use them: the web process
# loads numpy, Pillow or espeak only for a request that needs them (docs/architecture.md §1).


def recording_response(request, generation):
    """The uploaded recording behind a request, typed by the format validation detected; 404 if none."""
    from generation.pipeline.ffmpeg import audio_format

    if not generation.audio:
        raise Http404("This video was made from text.")
    known = audio_format(generation.audio_format)
    mime, extension = (known.mime, known.extension) if known else ("application/octet-stream", ".bin")
    return files.file_response(request, generation.audio, content_type=mime,
                         filename=f"recording-{generation.pk}{extension}")


# format -> (content type, Video field); SRT is never shown inline (browsers would only print it)
CAPTION_FORMATS = {"vtt": ("text/vtt; charset=utf-8", "captions_vtt"), "srt": ("application/x-subrip", "captions_srt")}


class NoCaptions(Http404):
    """A video with no captions to give: its message is the reason, and the API passes it on."""


def no_captions_reason(video) -> str:
    """Why a finished video has no captions, for people."""
    from django.utils.translation import gettext as _

    if video.captions_vtt:  # a WebVTT without cues: nothing was said in words
        return _("This video has no captions: it was made from a recording sent without its text.")
    return _("This video has no captions: it was made before captions existed.")


def captions_response(generation, video, fmt: str, *, download: bool, stem: str = ""):
    """A finished video's captions as WebVTT or SRT (UTF-8); 404 with the reason when it has none.

    `stem` names the file instead of the request's id (a shared video's captions).
    """
    content_type, field = CAPTION_FORMATS[fmt]
    if not video.has_captions:
        raise NoCaptions(no_captions_reason(video))
    response = HttpResponse(getattr(video, field).encode("utf-8"))
    return files.harden(response, content_type, f"{stem or f'avatar-{generation.pk}'}.{generation.language}.{fmt}",
                   inline=fmt == "vtt" and not download)


class _Stored:
    """A stored name with its storage, as file_response reads a FieldFile (stream files have no field)."""

    def __init__(self, storage_, name: str):
        self.storage, self.name = storage_, name


def _signed_playlist() -> bool:
    """Whether a stream's playlist lists signed bucket URLs (else paths of ours, served or proxied here)."""
    return not storage.is_local() and not settings.S3_PROXY_DOWNLOADS


def _playlist_text(generation) -> str:
    """The stored playlist with its URIs as the player should fetch them (signed ones with a bucket)."""
    from generation.pipeline import hls

    data = storage.read_bytes(default_storage, f"{generation.stream_dir}/{hls.PLAYLIST}")
    if data is None:
        if generation.is_finished:
            raise Http404("The stream is gone.")
        return hls.empty_playlist()  # claimed a moment ago: the worker has not published yet
    text = data.decode("utf-8", "replace")
    if not _signed_playlist():
        return text  # relative names: the segment route beside the playlist's

    def signed(name: str) -> str:
        if not streams.FILE_RE.match(name):
            return name
        return storage.presigned_url(_Stored(default_storage, f"{generation.stream_dir}/{name}"),
                                     content_type=streams.content_type(name), disposition=files.disposition(name, True))

    lines = []
    for line in text.splitlines():
        if line.startswith(f'#EXT-X-MAP:URI="{hls.INIT}"'):
            line = f'#EXT-X-MAP:URI="{signed(hls.INIT)}"'
        elif line and not line.startswith("#"):
            line = signed(line.strip())
        lines.append(line)
    return "\n".join(lines) + "\n"


def stream_response(request, generation, name: str):
    """A request's HLS playlist or one of its files (owner checked by the caller); 404 when there is none."""
    from generation.pipeline import hls

    if generation.is_expired:
        raise selectors.ResultExpired()
    if not generation.stream_dir:
        raise Http404("This request has no stream.")
    if name == hls.PLAYLIST:
        with storage.guard("download"):
            text = _playlist_text(generation)
        response = files.harden(HttpResponse(text.encode("utf-8")), streams.PLAYLIST_TYPE, name, inline=True)
        ended = hls.parse_playlist(text).ended
        # growing: every poll must see the new segments; signed links expire, so those are never kept either
        response["Cache-Control"] = "private, max-age=3600" if ended and not _signed_playlist() else "no-cache"
        return response
    if not streams.FILE_RE.match(name):
        raise Http404("No such part of the stream.")
    # captions feed a <track>, which a redirect to another origin would need CORS for: served from here
    return files.file_response(request, _Stored(default_storage, f"{generation.stream_dir}/{name}"),
                         content_type=streams.content_type(name), filename=name, inline=True,
                         redirect=name != hls.CAPTIONS)

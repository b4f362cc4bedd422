"""Responses that hand out stored files (videos, posters, recordings, avatar pictures).

Every one is reached only through a view that checked who may see it; these add what keeps user
content harmless in a browser: the sniffed type, `nosniff`, a sandboxing CSP, `attachment` unless
the player needs it inline, private caching, and HTTP Range for media players.
"""
import re

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse

from generation.shared import storage
from generation.shared import streams
from generation.web import selectors

# generation.pipeline modules are imported inside the functions that use them: the web process
# loads numpy, Pillow or espeak only for a request that needs them (docs/architecture.md §1).

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
MAX_RANGE_DIGITS = 18  # beyond any file size; longer numbers are refused before int() sees them
CHUNK = 64 * 1024
IMAGE_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"BM", "image/bmp"))
SANDBOX = "default-src 'none'; media-src 'self'; sandbox"


def _chunks(handle, start: int, length: int):
    """Yield `length` bytes of an open file from `start`, then close it."""
    try:
        handle.seek(start)
        while length > 0:
            data = handle.read(min(CHUNK, length))
            if not data:
                break
            length -= len(data)
            yield data
    finally:
        handle.close()


def parse_range(header: str, size: int) -> tuple[int, int] | None | str:
    """(start, end) of a single `bytes=` range, None for no usable range, "unsatisfiable" for a 416."""
    match = RANGE_RE.match(header.strip()) if header else None
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if len(first) > MAX_RANGE_DIGITS or len(last) > MAX_RANGE_DIGITS:
        return "unsatisfiable"
    if first:
        start, end = int(first), int(last) if last else size - 1
    else:  # suffix range: the last N bytes
        start, end = max(0, size - int(last)), size - 1
    end = min(end, size - 1)
    if start >= size or start > end:
        return "unsatisfiable"
    return start, end


def _harden(response, content_type: str, filename: str, inline: bool):
    response["Content-Type"] = content_type
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX
    response["Content-Disposition"] = _disposition(filename, inline)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _disposition(filename: str, inline: bool) -> str:
    return f'{"inline" if inline else "attachment"}; filename="{filename}"'


def _bucket_response(request, field, content_type: str, filename: str, inline: bool, redirect: bool):
    """A file in the bucket: a redirect to a short-lived signed URL, or (S3_PROXY_DOWNLOADS) streamed here."""
    if redirect and not settings.S3_PROXY_DOWNLOADS:
        # signing is local arithmetic: no call to the bucket, so this answers even while it is down;
        # the bucket itself honours Range on the signed URL
        response = HttpResponseRedirect(storage.presigned_url(
            field, content_type=content_type, disposition=_disposition(filename, inline)))
        response["Cache-Control"] = "private, no-store"  # the link expires: never cache the redirect
        response["Referrer-Policy"] = "no-referrer"
        return response
    size = field.storage.size(field.name)
    wanted = parse_range(request.headers.get("Range", ""), size)
    if wanted == "unsatisfiable":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    start, end = wanted if wanted else (None, None)
    length, chunks = storage.open_range(field, start, end)
    response = StreamingHttpResponse(chunks, status=206 if wanted else 200)
    response["Content-Length"] = str(length if length is not None else size)
    if wanted:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    return _harden(response, content_type, filename, inline)


def file_response(request, field, *, content_type: str, filename: str, inline: bool = False, redirect: bool = True):
    """The stored file behind `field` (a FieldFile), with Range support; 404 when it is gone.

    With a bucket: a redirect to a signed URL, or the bytes themselves when `redirect` is False or
    S3_PROXY_DOWNLOADS is set; StorageUnavailable when it cannot be reached (the views answer 503).
    """
    storage_, name = field.storage, field.name
    if not storage.is_local(storage_):
        try:
            with storage.guard("download"):
                return _bucket_response(request, field, content_type, filename, inline, redirect)
        except FileNotFoundError:  # the guard's word for the bucket's 404
            raise Http404("The file is missing.")
    try:
        size = storage_.size(name)
        handle = storage_.open(name, "rb")
    except (OSError, ValueError):
        raise Http404("The file is missing.")
    wanted = parse_range(request.headers.get("Range", ""), size)
    if wanted == "unsatisfiable":
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if wanted is None:
        response = FileResponse(handle)
        response["Content-Length"] = str(size)
    else:
        start, end = wanted
        response = StreamingHttpResponse(_chunks(handle, start, end - start + 1), status=206)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return _harden(response, content_type, filename, inline)


def sniff_image_type(field) -> str:
    """The MIME type of a stored picture from its first bytes (never from its name)."""
    try:
        if storage.is_local(field.storage):
            with field.storage.open(field.name, "rb") as handle:
                head = handle.read(16)
        else:  # sixteen bytes, not the whole object
            _size, chunks = storage.open_range(field, 0, 15)
            head = b"".join(chunks)
    except (OSError, ValueError):
        raise Http404("The file is missing.")
    for signature, mime in IMAGE_SIGNATURES:
        if head.startswith(signature):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def recording_response(request, generation):
    """The uploaded recording behind a request, typed by the format validation detected; 404 if none."""
    from generation.pipeline.ffmpeg import audio_format

    if not generation.audio:
        raise Http404("This video was made from text.")
    known = audio_format(generation.audio_format)
    mime, extension = (known.mime, known.extension) if known else ("application/octet-stream", ".bin")
    return file_response(request, generation.audio, content_type=mime,
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
    return _harden(response, content_type, f"{stem or f'avatar-{generation.pk}'}.{generation.language}.{fmt}",
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
                                     content_type=streams.content_type(name), disposition=_disposition(name, True))

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
        response = _harden(HttpResponse(text.encode("utf-8")), streams.PLAYLIST_TYPE, name, inline=True)
        ended = hls.parse_playlist(text).ended
        # growing: every poll must see the new segments; signed links expire, so those are never kept either
        response["Cache-Control"] = "private, max-age=3600" if ended and not _signed_playlist() else "no-cache"
        return response
    if not streams.FILE_RE.match(name):
        raise Http404("No such part of the stream.")
    # captions feed a <track>, which a redirect to another origin would need CORS for: served from here
    return file_response(request, _Stored(default_storage, f"{generation.stream_dir}/{name}"),
                         content_type=streams.content_type(name), filename=name, inline=True,
                         redirect=name != hls.CAPTIONS)

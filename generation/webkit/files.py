"""Responses that hand out stored files (videos, posters, recordings, avatar pictures), for both web rooms.

Every one is reached only through a view that checked who may see it; these add what keeps user
content harmless in a browser: the sniffed type, `nosniff`, a sandboxing CSP, `attachment` unless
the player needs it inline, private caching, and HTTP Range for media players.
"""
import re

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse

from generation.shared import storage

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


def harden(response, content_type: str, filename: str, inline: bool):
    response["Content-Type"] = content_type
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX
    response["Content-Disposition"] = disposition(filename, inline)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def disposition(filename: str, inline: bool) -> str:
    return f'{"inline" if inline else "attachment"}; filename="{filename}"'


def _bucket_response(request, field, content_type: str, filename: str, inline: bool, redirect: bool):
    """A file in the bucket: a redirect to a short-lived signed URL, or (S3_PROXY_DOWNLOADS) streamed here."""
    if redirect and not settings.S3_PROXY_DOWNLOADS:
        # signing is local arithmetic: no call to the bucket, so this answers even while it is down;
        # the bucket itself honours Range on the signed URL
        response = HttpResponseRedirect(storage.presigned_url(
            field, content_type=content_type, disposition=disposition(filename, inline)))
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
    return harden(response, content_type, filename, inline)


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
    return harden(response, content_type, filename, inline)


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



"""Serve an owner's MP4 with HTTP Range support, so players can seek."""
import os
import re

from django.http import FileResponse, Http404, HttpResponse

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


class _RangeFile:
    """Yields bytes [start, end] of a file."""

    def __init__(self, path, start, end):
        self.file = open(path, "rb")
        self.file.seek(start)
        self.remaining = end - start + 1

    def __iter__(self):
        try:
            while self.remaining > 0:
                data = self.file.read(min(CHUNK, self.remaining))
                if not data:
                    break
                self.remaining -= len(data)
                yield data
        finally:
            self.file.close()


def video_response(request, video, *, download_name: str, as_attachment: bool = False):
    try:
        path = video.file.path
        size = os.path.getsize(path)
    except (OSError, ValueError):
        raise Http404("The video file is missing.")
    disposition = "attachment" if as_attachment else "inline"
    header = request.headers.get("Range", "")
    match = RANGE_RE.match(header.strip()) if header else None
    if match and (match.group(1) or match.group(2)):
        first, last = match.group(1), match.group(2)
        if first:
            start, end = int(first), int(last) if last else size - 1
        else:  # suffix range: the last N bytes
            start, end = max(0, size - int(last)), size - 1
        end = min(end, size - 1)
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        from django.http import StreamingHttpResponse

        response = StreamingHttpResponse(_RangeFile(path, start, end), status=206, content_type="video/mp4")
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(open(path, "rb"), content_type="video/mp4")
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = f'{disposition}; filename="{download_name}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response

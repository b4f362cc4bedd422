"""A running request's HLS stream in the storage: named per run, published as it grows, removed with the video.

The pipeline writes the stream into the worker's scratch folder (pipeline/hls.py); a thread here
copies each piece into the storage once the playlist lists it (MEDIA_ROOT or the bucket, where each
segment is an object uploaded as it is made), then the playlist itself, so a reader never finds a
segment listed that is not stored yet. When the run stops, for whatever reason, the playlist is
closed with ENDLIST and published a last time.
"""
from __future__ import annotations

import logging
import re
import threading
import uuid
from pathlib import Path

from django.utils import timezone

from generation.shared import storage
from generation.pipeline import hls

log = logging.getLogger(__name__)

FOLDER = "streams"  # under the storage's root, beside videos/ (sweep.FOLDERS)
POLL_SECONDS = 0.05  # how often the scratch playlist is looked at: a segment is ~1 s, so this adds little
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPE = "video/mp4"  # fMP4: the init header and the .m4s segments alike
CAPTIONS_TYPE = "text/vtt; charset=utf-8"
# what a stream folder may hold; everything else asked for is a 404 without touching the storage
FILE_RE = re.compile(r"^(?:init\.mp4|seg\d{5}\.m4s|captions\.vtt)$")


def new_folder(request_pk: int) -> str:
    """A fresh stored folder for one run of a request (a retried run gets its own)."""
    return f"{FOLDER}/{timezone.now():%Y/%m}/gen-{request_pk}-{uuid.uuid4().hex[:8]}"


def content_type(name: str) -> str:
    """What a stream file is served as."""
    if name == hls.PLAYLIST:
        return PLAYLIST_TYPE
    return CAPTIONS_TYPE if name == hls.CAPTIONS else SEGMENT_TYPE


class Publisher:
    """Copies a scratch stream folder into the storage while the encode grows it (a thread of its own)."""

    def __init__(self, local: Path, prefix: str, poll: float = POLL_SECONDS):
        self.local, self.prefix, self.poll = Path(local), prefix.strip("/"), poll
        self.stored: set[str] = set()
        self._last = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream-{self.prefix}", daemon=True)

    def _put_file(self, name: str) -> None:
        """Store one scratch file once."""
        if name in self.stored:
            return
        storage.put_bytes(f"{self.prefix}/{name}", (self.local / name).read_bytes(), content_type(name))
        self.stored.add(name)

    def publish(self) -> bool:
        """Store what is new: captions, init, each listed segment, then the playlist; whether anything was."""
        path = self.local / hls.PLAYLIST
        text = path.read_text() if path.exists() else None
        if (self.local / hls.CAPTIONS).exists():
            self._put_file(hls.CAPTIONS)
        if text is None or text == self._last:
            return False
        listed = hls.parse_playlist(text)
        if listed.has_init:
            self._put_file(hls.INIT)
        for name, _seconds in listed.segments:
            if hls.SEGMENT_RE.match(name):
                self._put_file(name)
        storage.put_bytes(f"{self.prefix}/{hls.PLAYLIST}", hls.fixed_target(text).encode(), PLAYLIST_TYPE)
        self._last = text
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.publish()
            except Exception:  # a bucket hiccup: the next look tries again; the MP4 does not depend on it
                log.warning("Publishing stream %s failed", self.prefix, exc_info=True)

    def __enter__(self):
        self.local.mkdir(parents=True, exist_ok=True)
        try:  # the stream answers at once, before the first segment; a bucket down now costs only the stream
            storage.put_bytes(f"{self.prefix}/{hls.PLAYLIST}", hls.empty_playlist().encode(), PLAYLIST_TYPE)
        except Exception:
            log.warning("Starting stream %s failed", self.prefix, exc_info=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        """End the playlist (whatever stopped the run) and publish it a last time."""
        self._stop.set()
        self._thread.join()
        try:
            hls.end_playlist(self.local)
            self.publish()
        except Exception:
            log.warning("Ending stream %s failed", self.prefix, exc_info=True)


def delete(storage_, prefix: str) -> None:
    """Remove a stream's stored files (StorageUnavailable when the bucket is down)."""
    if prefix:
        storage.delete_folder(storage_, prefix)

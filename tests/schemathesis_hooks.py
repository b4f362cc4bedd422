"""schemathesis hooks for what a schema cannot say: uploaded files must be real media, a key names one body.

Used by tests/test_api_fuzz.py and by the CLI run against a live server:
  SCHEMATHESIS_HOOKS=tests.schemathesis_hooks schemathesis run http://…/api/v1/schema/ --checks all
Only schema-valid (positive) cases are touched; negative ones go out exactly as generated.
"""
import io
import uuid
import wave
from functools import lru_cache

import numpy as np
import schemathesis
from PIL import Image

TONE_HZ, RATE, SECONDS = 220.0, 16000, 0.6


@lru_cache(maxsize=1)
def real_wav() -> bytes:
    """A short real recording: a tone that ffmpeg decodes like any WAV upload."""
    t = np.arange(int(RATE * SECONDS)) / RATE
    samples = (0.3 * np.sin(2 * np.pi * TONE_HZ * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


@lru_cache(maxsize=1)
def real_png() -> bytes:
    """A real photo-sized PNG (a gradient): the upload check accepts it, the worker decides about the face."""
    ramp = np.linspace(0, 255, 256, dtype=np.uint8)
    rgb = np.stack([np.tile(ramp, (256, 1)), np.tile(ramp[:, None], (1, 256)), np.full((256, 256), 128, np.uint8)], -1)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


FILES = {"audio": real_wav, "file": real_png}


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """Positive cases: real media in file fields, and an Idempotency-Key of their own (one key, one body)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    if isinstance(case.body, dict) and case.media_type == "multipart/form-data":
        for field, make in FILES.items():
            if field in case.body:
                case.body[field] = make()
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = f"{case.headers['Idempotency-Key'][:200]}-{uuid.uuid4().hex}"

"""The Content-Security-Policy header: on every page, strict, with the bucket's origin for media; and no
template carries the inline code it would refuse (tests/browser/test_csp.py checks the pages in Chromium)."""
import re
from pathlib import Path

import pytest

from avatarsite import csp

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
INLINE = [re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"),  # inline script
          re.compile(r"<style\b"), re.compile(r"\sstyle=\""), re.compile(r"\son[a-z]+=\""),
          re.compile(r"javascript:")]


def directives(response) -> dict:
    value = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in value.split("; ")}


def test_pages_and_api_answers_carry_a_strict_policy(client, api):
    for response in (client.get("/accounts/login/"), client.get("/no-such-page/"), api.get("/api/v1/generations/")):
        policy = directives(response)
        assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


def test_a_download_keeps_its_own_sandboxing_policy(api, user, avatar, media_root):
    from django.core.files.base import ContentFile

    from generation.models import GenerationRequest, Status, Video

    done = GenerationRequest.objects.create(owner=user, avatar=avatar, text="x", language="ru", status=Status.DONE)
    video = Video(request=done, duration=1.0, fps=25, width=4, height=4, size=10)
    video.file.save("clip.mp4", ContentFile(b"0123456789"), save=True)
    assert "sandbox" in api.get(f"/api/v1/generations/{done.pk}/video")["Content-Security-Policy"]


def test_media_may_come_from_the_bucket_and_named_origins(settings):
    settings.S3_BUCKET, settings.S3_ENDPOINT_URL = "media", "http://minio.internal:9000"
    settings.CSP_EXTRA_MEDIA_ORIGINS = ["https://cdn.example.com"]
    policy = {part.split()[0]: part.split()[1:] for part in csp.policy().split("; ")}
    for directive in ("media-src", "img-src"):
        assert {"'self'", "http://minio.internal:9000", "https://cdn.example.com"} <= set(policy[directive])
    assert "http://minio.internal:9000" not in policy["script-src"]
    settings.S3_ENDPOINT_URL = ""  # AWS: signed links lead to <bucket>.s3.<region>.amazonaws.com
    assert "https://*.amazonaws.com" in csp.policy()


def test_no_template_has_inline_script_style_or_handlers():
    found = {}
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        hits = [pattern.pattern for pattern in INLINE if pattern.search(text)]
        if hits:
            found[str(path.relative_to(TEMPLATES))] = hits
    assert not found, found

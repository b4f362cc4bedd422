"""Every page sends a Content-Security-Policy, and Chromium finds nothing on any page that the policy blocks.

A finished video (real MP4, poster, captions) and an own avatar make the pages load everything they
can: the player, its subtitles, the previews; the admin and the API docs are visited too. A positive
control shows the listener does see a blocked inline script.
"""
import io
import os

import numpy as np
import pytest

from tests.browser.waiting import wait_until
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from PIL import Image
from rest_framework.authtoken.models import Token

from generation.models import GenerationRequest, Status, Video

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

CHROMIUM = "/usr/bin/chromium"
if sync_playwright is None or not os.path.exists(CHROMIUM):
    pytest.skip("browser tests need playwright and Chromium at /usr/bin/chromium", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# every violation the page reports, whatever element caused it
LISTEN = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"""
VTT = "WEBVTT\n\n00:00.000 --> 00:01.000\nСәлем!\n"


def tiny_mp4() -> bytes:
    from tests.media import encode

    frames = (np.full((64, 64, 3), 40 + 8 * i, np.uint8) for i in range(25))
    return encode(frames, (64, 64))


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 120, 90)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def world(media_root, avatar):
    """A staff user with a finished video (file, poster, captions) and a request still queued."""
    user = get_user_model().objects.create_user("csp", password="csp-password-1", is_staff=True, is_superuser=True)
    done = GenerationRequest.objects.create(owner=user, avatar=avatar, text="Сәлем!", language="kk", status=Status.DONE)
    video = Video(request=done, duration=1.0, fps=25, width=64, height=64, size=0, captions_vtt=VTT,
                  captions_srt="1\n00:00:00,000 --> 00:00:01,000\nСәлем!\n")
    video.file.save("clip.mp4", ContentFile(tiny_mp4()), save=False)
    video.poster.save("clip.jpg", ContentFile(jpeg()), save=False)
    video.size = video.file.size
    video.save()
    queued = GenerationRequest.objects.create(owner=user, avatar=avatar, text="Привет!", language="ru")
    Token.objects.create(user=user)  # the token page then shows it, in its select-on-focus field
    return user, done, queued


def visit(page, url: str) -> list[str]:
    """Violations reported while `url` loads and settles (players, previews and scripts included)."""
    response = page.goto(url, wait_until="networkidle")
    assert response.status in (200, 404), (url, response.status)
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, (url, policy)
    page.wait_for_timeout(300)
    return page.evaluate("window.__csp")


def test_no_page_breaks_its_own_content_security_policy(live_server, client, world):
    user, done, queued = world
    client.force_login(user)
    pages = ["/", "/history/", f"/generations/{done.pk}/", f"/generations/{queued.pk}/", "/avatars/",
             "/account/token/", "/no-such-page/", "/admin/", "/admin/generation/generationrequest/",
             f"/admin/generation/generationrequest/{done.pk}/change/", "/api/v1/docs/", "/api/v1/generations/"]
    console = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            anonymous = browser.new_context()
            anonymous.add_init_script(LISTEN)
            page = anonymous.new_page()
            page.on("console", lambda m: console.append(m.text))
            found = {"/accounts/login/": visit(page, live_server.url + "/accounts/login/")}

            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                                  "url": live_server.url}])
            context.add_init_script(LISTEN)
            page = context.new_page()
            page.on("console", lambda m: console.append(m.text))
            for path in pages:
                found[path] = visit(page, live_server.url + path)
            assert page.evaluate("document.title")  # still logged in, pages rendered
            page.goto(live_server.url + "/api/v1/docs/", wait_until="networkidle")
            page.wait_for_selector(".swagger-ui .info", timeout=15_000)  # its start-up script did run
            shots = os.environ.get("BROWSER_SHOTS_DIR")
            if shots:
                page.screenshot(path=os.path.join(shots, "csp-api-docs.png"))
                page.goto(live_server.url + "/account/token/")
                page.screenshot(path=os.path.join(shots, "csp-token-page.png"))

            # the player did load the video and its subtitles under the policy
            page.goto(live_server.url + f"/generations/{done.pk}/", wait_until="networkidle")
            wait_until(page, "document.querySelector('video').readyState >= 1", timeout=15_000)

            # positive control: an inline script is blocked and the listener sees it
            page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
                          " document.body.appendChild(s); }")
            page.wait_for_timeout(200)
            assert page.evaluate("window.__ran") is None
            assert any("script-src" in v for v in page.evaluate("window.__csp"))
        finally:
            browser.close()
    blocked = {path: violations for path, violations in found.items() if violations}
    assert not blocked, blocked
    refused = [line for line in console if "Content Security Policy" in line and "window.__ran" not in line]
    assert len(refused) <= 1, refused  # only the control's own refusal

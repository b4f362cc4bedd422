"""The Create page's format control in a real browser: a picture uploaded on the way, used, then deleted."""
import io
import os

import pytest
from PIL import Image

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

CHROMIUM = "/usr/bin/chromium"
if sync_playwright is None or not os.path.exists(CHROMIUM):
    pytest.skip("browser tests skipped: no playwright or no Chromium", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PASSWORD = "browser-password-1"


def test_the_page_uploads_a_background_and_asks_for_a_framed_video(live_server, user, avatar, tmp_path, monkeypatch):
    from generation.models import Background, GenerationRequest

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    user.set_password(PASSWORD)
    user.save()
    picture = tmp_path / "beach.png"
    Image.new("RGB", (320, 180), (40, 150, 200)).save(picture)
    shots = os.environ.get("BROWSER_SHOTS_DIR") or str(tmp_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(locale="ru-RU", viewport={"width": 1100, "height": 1300})
        page.set_default_timeout(15_000)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live_server.url}/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.click("main button[type=submit]")
        page.fill("#id_text", "Привет!")
        page.click("#format summary")
        page.select_option("#id_frame", "16:9")
        page.select_option("#id_resolution", "1080")
        page.select_option("#id_background", "upload")
        expect(page.locator("#id_background_file")).to_be_visible()
        page.set_input_files("#id_background_file", str(picture))
        page.screenshot(path=os.path.join(shots, "format-control.png"), full_page=True)
        page.click("#submit")
        expect(page.locator("#result")).to_be_visible()
        assert Background.objects.filter(owner=user).count() == 1
        request = GenerationRequest.objects.get()
        assert (request.frame, request.resolution, request.background) == ("16:9", 1080, "image")
        assert request.background_image == Background.objects.get()
        expect(page.locator("#delete-background")).to_be_visible()  # the new picture is now the chosen one
        page.click("#delete-background")
        expect(page.locator("#id_background")).to_have_value("blur")
        page.screenshot(path=os.path.join(shots, "format-control-after.png"), full_page=True)
        assert not Background.objects.exists()
        assert errors == []
        browser.close()


LOOK = ("(id) => { const s = getComputedStyle(document.getElementById(id));"
        " return [s.borderTopWidth, s.borderTopStyle, s.borderTopColor, s.borderRadius, s.paddingLeft, s.paddingTop,"
        " s.fontFamily, s.fontSize, document.getElementById(id).getBoundingClientRect().width]; }")


def test_the_pace_field_looks_like_the_other_controls(live_server, user, avatar, tmp_path, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    user.set_password(PASSWORD)
    user.save()
    shots = os.environ.get("BROWSER_SHOTS_DIR") or str(tmp_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(locale="en-US", viewport={"width": 1000, "height": 1100})
        page.goto(f"{live_server.url}/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.click("main button[type=submit]")
        rate, motion = page.evaluate(LOOK, "id_rate"), page.evaluate(LOOK, "id_motion")
        assert rate == motion, (rate, motion)  # the same border, corners, padding, font and width as a select
        page.locator("#id_rate").scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(shots, "pace-field.png"),
                        clip={**page.locator("#id_voice").bounding_box(), "height": 260, "width": 900})
        browser.close()

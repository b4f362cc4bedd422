"""The share controls, the public share page and the password-reset page in Chromium.

The owner makes a link on the detail page and copies it; an anonymous browser opens it, the player
loads the video and its subtitles under the site's CSP, and nothing of the owner shows; after the
owner revokes it the page is a 404. Screenshots land in tmp_path (and $BROWSER_SHOTS_DIR when set).
"""
import os
import shutil

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from generation.models import GenerationRequest, Status, Video
from tests.browser.test_csp import CHROMIUM, CHROMIUM_ARGS, LISTEN, VTT, jpeg, tiny_mp4
from tests.browser.waiting import wait_until

from playwright.sync_api import expect, sync_playwright  # noqa: E402  (test_csp skipped the module without it)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def finished(media_root, avatar):
    owner = get_user_model().objects.create_user("sharer", password="sharer-password-1")
    avatar.name = "Private Name"
    avatar.save()
    done = GenerationRequest.objects.create(owner=owner, avatar=avatar, text="Сәлем!", language="kk",
                                            status=Status.DONE)
    video = Video(request=done, duration=1.0, fps=25, width=64, height=64, size=0, captions_vtt=VTT,
                  captions_srt="1\n00:00:00,000 --> 00:00:01,000\nСәлем!\n")
    video.file.save("clip.mp4", ContentFile(tiny_mp4()), save=False)
    video.poster.save("clip.jpg", ContentFile(jpeg()), save=False)
    video.size = video.file.size
    video.save()
    return owner, done


def shot(page, tmp_path, name):
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get("BROWSER_SHOTS_DIR")
    if extra:
        os.makedirs(extra, exist_ok=True)
        shutil.copy(path, extra)


def test_share_make_copy_open_revoke_and_the_reset_page(live_server, client, finished, tmp_path):
    from avatars.models import Avatar, AvatarStatus
    from generation.shared import voices

    owner, done = finished
    done.voice = voices.voices("kk")[-1].id
    done.save()
    mine = Avatar(name="Granny", owner=owner, status=AvatarStatus.READY)
    mine.source.save("photo.png", ContentFile(jpeg()), save=True)
    client.force_login(owner)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
            context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                                  "url": live_server.url}])
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{live_server.url}/generations/{done.pk}/")
            with page.expect_navigation():
                page.click("#share-make")
            url = page.input_value("#share-url")
            assert url.startswith(f"{live_server.url}/s/")
            page.click("#share-copy")
            expect(page.locator("#share-copy")).to_have_text("Скопировано")
            assert page.evaluate("navigator.clipboard.readText()") == url
            expect(page.locator("#share-revoke")).to_be_visible()
            shot(page, tmp_path, "share-detail-ru")

            anonymous = browser.new_context(locale="kk-KZ", viewport={"width": 390, "height": 844})
            anonymous.add_init_script(LISTEN)
            visitor = anonymous.new_page()
            visitor.set_default_timeout(15_000)
            visitor.goto(url, wait_until="networkidle")
            wait_until(visitor, "document.querySelector('video').readyState >= 1", timeout=15_000)
            wait_until(visitor, "document.querySelector('video').textTracks.length === 1", timeout=5_000)
            html = visitor.content()
            assert "sharer" not in html and "Private Name" not in html
            assert visitor.evaluate("window.__csp") == []
            shot(visitor, tmp_path, "share-public-phone")

            page.click("#share-revoke")
            page.wait_for_load_state()
            assert visitor.goto(url).status == 404

            visitor.goto(f"{live_server.url}/accounts/password/reset/")
            expect(visitor.locator("h1")).to_have_text("Құпиясөзді ұмыттыңыз ба?")
            shot(visitor, tmp_path, "password-reset-kk-phone")
            reset = browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900}).new_page()
            reset.goto(f"{live_server.url}/accounts/login/")
            reset.click("text=Забыли пароль?")
            expect(reset.locator("h1")).to_have_text("Забыли пароль?")
            shot(reset, tmp_path, "password-reset-ru")

            # again with changes: the form comes filled, the voice chosen by the page's script
            page.goto(f"{live_server.url}/generations/{done.pk}/")
            with page.expect_navigation():
                page.click("#remake")
            assert page.input_value("#id_text") == "Сәлем!"
            assert page.is_checked("input[name=language][value=kk]")
            assert page.input_value("#id_voice") == done.voice
            page.goto(f"{live_server.url}/history/?q=%D0%A1%D3%99%D0%BB%D0%B5%D0%BC")
            expect(page.locator(".history .item")).to_have_count(1)
            shot(page, tmp_path, "history-filtered-ru")
            page.goto(f"{live_server.url}/avatars/")
            page.fill(f"#rename-{mine.pk}", "Бабушка")
            with page.expect_navigation():
                page.click(f"#avatar-{mine.pk} .rename button")
            expect(page.locator(f"#avatar-{mine.pk} strong")).to_have_text("Бабушка")
            shot(page, tmp_path, "avatars-rename-ru")
        finally:
            browser.close()

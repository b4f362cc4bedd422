"""The Create page in Chromium: the voice's ▶ button plays its sample (real espeak, the page's CSP on), the pace field is there."""
import os

import pytest

from tests.browser.test_browser_flows import CHROMIUM, CHROMIUM_ARGS, PASSWORD, browser  # noqa: F401
from tests.browser.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_play_button_plays_the_voice_sample(browser, live_server, user, avatar, media_root, tmp_path):  # noqa: F811
    user.set_password(PASSWORD)
    user.save()
    page = browser.new_context(locale="kk-KZ", viewport={"width": 1100, "height": 1000}).new_page()
    page.set_default_timeout(20_000)
    errors, refused = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    page.check("input[name=language][value=kk]")
    page.select_option("#id_voice", "kk+f3")
    page.fill("#id_rate", "1.25")
    page.click("#voice-play")
    wait_until(page, "document.getElementById('voice-audio').readyState >= 1", timeout=20_000)
    assert page.evaluate("document.getElementById('voice-audio').error") is None
    assert page.evaluate("document.getElementById('voice-audio').duration") > 1.0
    assert page.evaluate("document.getElementById('voice-audio').src").endswith("/api/v1/voices/kk%2Bf3/sample")
    shot = os.environ.get("BROWSER_SHOTS_DIR") or str(tmp_path)
    page.screenshot(path=os.path.join(shot, "voice-preview-kk.png"), full_page=True)
    assert not errors and not refused, (errors, refused)

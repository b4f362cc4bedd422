"""The create page in Chromium with a real worker: cancel while in progress, controls that cannot matter
disabled with their reason, the result brought into view without sound, «Recent» kept up to date, timings in
pipeline order; at 1280×900 and on a 390×844 phone. Screenshots in tmp_path (and $BROWSER_SHOTS_DIR)."""
import pytest

from avatars.models import Avatar, AvatarStatus, Kind
from tests.browser.test_browser_flows import (CHROMIUM, CHROMIUM_ARGS, FIRST_JOB_MS, JOB_MS, PASSWORD,  # noqa: F401
                                              browser, cluster, generous_throttle, snap)
from tests.browser.waiting import wait_until

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the flows module skips first
    expect = None

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PIPELINE_LABELS_RU = ["Ожидание в очереди", "Синтез речи", "Подготовка звука", "Анализ лица", "Синхронизация губ",
                      "Кодирование видео", "Всего"]
IN_VIEW = ("(() => { const r = document.getElementById('player').getBoundingClientRect();"
           " return r.top >= -1 && r.top < window.innerHeight; })()")


def log_in(page, url, user):
    page.goto(f"{url}/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def video_avatar_row(photo: Avatar) -> Avatar:
    """A ready video avatar for the selector (only its kind matters here; nothing is made with it)."""
    return Avatar.objects.create(name="Клип", kind=Kind.VIDEO, status=AvatarStatus.READY, source=photo.source.name,
                                 preview=photo.preview.name)


def test_the_create_page_follows_cancels_and_shows_the_result(browser, live_server, user, avatar, cluster, snap,
                                                              generous_throttle, tmp_path):
    user.set_password(PASSWORD)
    user.save()
    video_avatar_row(avatar)
    context = browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server.url, user)
    expect(page.locator("#recent")).to_be_hidden()  # nothing made yet

    # Head motion means nothing to a video avatar; a voice means nothing to an uploaded recording.
    page.locator("label.avatar-choice", has_text="Клип").click()
    expect(page.locator("#id_motion")).to_be_disabled()
    expect(page.locator("#motion-reason")).to_be_visible()
    page.locator("label.avatar-choice", has_text="Астронавт").click()
    expect(page.locator("#id_motion")).to_be_enabled()
    expect(page.locator("#motion-reason")).to_be_hidden()
    page.click("details.own-audio summary")
    wav = tmp_path / "me.wav"
    wav.write_bytes(b"RIFF")  # never sent: only the selection matters
    page.set_input_files("#id_audio", str(wav))
    expect(page.locator("#id_voice")).to_be_disabled()
    expect(page.locator("#voice-reason")).to_be_visible()
    snap(page, "create-controls-disabled-1280")
    page.set_input_files("#id_audio", [])
    expect(page.locator("#id_voice")).to_be_enabled()

    # Cancel the first job while the worker is still loading its models.
    page.fill("#id_text", "Этот ролик будет отменён.")
    page.click("#submit")
    expect(page.locator("#cancel")).to_be_visible()
    page.click("#cancel")
    expect(page.locator("#job-error")).to_have_text("Отменено")
    expect(page.locator("#cancel")).to_be_hidden()
    expect(page.locator("#recent-list li").first).to_contain_text("Отменено")

    # The second one is made: it comes into view and joins «Recent». It may play while it is made (the
    # stream), but never with the player out of sight: each start of playback records where the player was.
    # 'play' (asked to play) as well as 'playing' (data flowing): between the two the video is no longer
    # paused, yet has not played
    page.evaluate("""() => { window.playedOutOfSight = false; window.plays = 0;
        const video = document.getElementById('video');
        for (const kind of ['play', 'playing']) video.addEventListener(kind, () => {
            window.plays += 1;
            const r = document.getElementById('player').getBoundingClientRect();
            if (!(r.top < window.innerHeight && r.bottom > 0)) window.playedOutOfSight = true;
        }); }""")
    page.fill("#id_text", "Привет! Я говорящий аватар.")
    page.click("#submit")
    page.wait_for_selector("#player:not([hidden])", timeout=FIRST_JOB_MS)
    wait_until(page, IN_VIEW, timeout=5_000)
    expect(page.locator("#finished")).to_be_visible(timeout=FIRST_JOB_MS)
    assert page.evaluate("window.playedOutOfSight") is False
    # not streamed (finished before its first segment): it waits for a play. A play() whose 'play' event
    # is still queued reads as unpaused with no play yet: its event is given a moment to arrive
    plays, paused = page.evaluate("[window.plays, document.getElementById('video').paused]")
    if plays == 0 and not paused:
        page.wait_for_timeout(1_000)
        plays = page.evaluate("window.plays")
    if plays == 0:
        assert paused is True
    assert page.evaluate("window.playedOutOfSight") is False
    expect(page.locator("#recent-list li")).to_have_count(2)
    expect(page.locator("#recent-list li").first).to_contain_text("Готово")
    assert page.locator("#timings dt").all_text_contents() == PIPELINE_LABELS_RU
    actions = page.locator("p.actions a")
    first, second = (actions.nth(i).bounding_box() for i in (0, 1))
    assert second["x"] >= first["x"] + first["width"] + 8  # «Download video» and «Open …» apart
    snap(page, "create-result-1280")

    # A phone: nothing wider than the screen, the two actions still apart (side by side or stacked).
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#player").scroll_into_view_if_needed()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    first, second = (actions.nth(i).bounding_box() for i in (0, 1))
    assert second["x"] >= first["x"] + first["width"] + 8 or second["y"] >= first["y"] + first["height"] + 4
    snap(page, "create-result-390")

    # Its page names the voice and the engine for people, the actions apart.
    with page.expect_navigation():
        page.click("#detail-link")
    expect(page.locator("#detail")).to_contain_text("Русский, мужской · встроенная синхронизация губ")
    snap(page, "detail-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    snap(page, "detail-1280")
    assert errors == [], errors
    context.close()

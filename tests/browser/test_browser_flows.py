"""The pages in a real browser: Debian's Chromium through Playwright, a live server and a real worker.

One browser and one login for the module; the flow runs as one test because the live server needs a
transactional database, which is emptied after every test. A screenshot of each step lands in the
test's tmp_path (and in $BROWSER_SHOTS_DIR when set).
"""
import os
import shutil

import pytest

from tests.browser.waiting import wait_until

from tests.worker import Cluster

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

CHROMIUM = "/usr/bin/chromium"
if sync_playwright is None:
    pytest.skip("browser tests skipped: the playwright package is not installed", allow_module_level=True)
if not os.path.exists(CHROMIUM):
    pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
FIRST_JOB_MS = 240_000  # the first job loads the models on a 2-core CI machine
JOB_MS = 90_000
PASSWORD = "browser-password-1"
TITLES = {"ru": "Говорящий Аватар", "kk": "Сөйлейтін аватар", "en": "Talking Avatar"}
READY = {"ru": "Готово", "kk": "Дайын", "en": "Ready"}
HISTORY = {"ru": "История", "kk": "Тарих", "en": "History"}
# (interface language, spoken language, text): each video is made with the interface in its language.
JOBS = [("ru", "ru", "Привет! Я говорящий аватар."), ("kk", "kk", "Сәлеметсіз бе! Мен сөйлейтін аватармын."),
        ("en", "en", "Hello! I am a talking avatar.")]


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an event loop on this thread; the ORM calls pytest-django makes
    # around the test (flush) would otherwise be refused as "async".
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def cluster(media_root, tmp_path):
    running = Cluster(media_root, tmp_path / "qcluster.log").start()
    yield running
    running.stop()


@pytest.fixture
def generous_throttle(monkeypatch):
    """The flow posts several times a minute; it is not about throttling."""
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"generations": "1000/min", "login": "1000/min"})


@pytest.fixture
def snap(tmp_path):
    """snap(page, name): a full-page screenshot of the current step."""
    folder = tmp_path / "shots"
    folder.mkdir()
    extra = os.environ.get("BROWSER_SHOTS_DIR")

    def take(page, name):
        path = folder / f"{len(list(folder.iterdir())) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if extra:
            os.makedirs(extra, exist_ok=True)
            shutil.copy(path, extra)
        return path

    return take


def switch_interface(page, language):
    with page.expect_navigation():
        page.click(f"#ui-lang-{language}")
    expect(page.locator("html")).to_have_attribute("lang", language)


def make_video(page, language, text, timeout_ms):
    """Type, pick the spoken language, press the button and wait for the player."""
    page.check(f"input[name=language][value={language}]")
    page.fill("#id_text", text)
    expect(page.locator("#count")).to_have_text(str(len(text)))
    page.click("#submit")
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#stage")).not_to_be_empty()
    page.wait_for_selector("#player:not([hidden])", timeout=timeout_ms)


def assert_video_plays(page):
    wait_until(page, "document.getElementById('video').readyState >= 1", timeout=20_000)
    duration = page.evaluate("document.getElementById('video').duration")
    assert duration > 0.5, duration
    page.evaluate("() => { const v = document.getElementById('video'); v.muted = true; v.currentTime = 0; "
                  "return v.play(); }")
    wait_until(page, "document.getElementById('video').currentTime > 0.3", timeout=20_000)
    assert page.evaluate("document.getElementById('video').error") is None
    return duration


def test_a_user_makes_plays_downloads_and_finds_videos(browser, live_server, user, avatar, cluster, snap,
                                                          generous_throttle):
    user.set_password(PASSWORD)
    user.save()
    context = browser.new_context(locale="ru-RU", viewport={"width": 1100, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())

    # Log in (Russian by default).
    page.goto(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Войти")
    snap(page, "login")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text(TITLES["ru"])
    snap(page, "generate-ru")

    # The error path: empty text is refused inline, in plain words, nothing queued.
    page.fill("#id_text", "")
    page.click("#submit")
    expect(page.locator("#text-error")).to_have_text("Введите текст, который должен произнести аватар.")
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#id_text")).to_have_attribute("aria-invalid", "true")
    snap(page, "error-empty-text")

    # One video per language, the interface switched to that language too.
    durations = {}
    for index, (interface, language, text) in enumerate(JOBS):
        if interface != "ru":
            switch_interface(page, interface)
        expect(page.locator("h1")).to_have_text(TITLES[interface])
        make_video(page, language, text, FIRST_JOB_MS if index == 0 else JOB_MS)
        expect(page.locator("#stage")).to_have_text(READY[interface])
        expect(page.locator("#timings dd")).to_have_count(7)
        durations[language] = assert_video_plays(page)
        snap(page, f"player-{language}")
    assert errors == [], errors

    # Download: a real MP4.
    with page.expect_download() as download_info:
        page.click("#download")
    download = download_info.value
    assert download.suggested_filename.endswith(".mp4")
    with open(download.path(), "rb") as f:
        head = f.read(12)
    assert head[4:8] == b"ftyp", head

    # History (interface still English): newest first, posters, play, download, delete.
    page.goto(f"{live_server.url}/history/")
    expect(page.locator("h1")).to_have_text("History")
    items = page.locator("ul.history > li")
    expect(items).to_have_count(3)
    expect(items.nth(0)).to_contain_text(JOBS[2][2])
    expect(items.nth(2)).to_contain_text(JOBS[0][2])
    expect(items.nth(0)).to_contain_text("English")
    for i in range(3):
        poster = items.nth(i).locator("video").get_attribute("poster")
        response = page.request.get(f"{live_server.url}{poster}")
        assert response.status == 200 and response.headers["content-type"] == "image/jpeg"
        assert response.body()[:2] == b"\xff\xd8"
    wait_until(page, "[...document.querySelectorAll('ul.history video')].every(v => v.poster)")
    snap(page, "history-en")

    # Switch the interface language on the history page.
    switch_interface(page, "kk")
    expect(page.locator("h1")).to_have_text(HISTORY["kk"])
    expect(items.nth(0)).to_contain_text("Ағылшынша")
    snap(page, "history-kk")

    with page.expect_navigation():
        items.nth(2).locator("button.danger").click()
    expect(items).to_have_count(2)

    # A phone-width screen: nothing wider than the screen, the button reachable by its name.
    switch_interface(page, "ru")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_label("Текст")).to_be_visible()
    expect(page.get_by_role("button", name="Озвучить и создать видео")).to_be_visible()
    snap(page, "phone-ru")
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    context.close()

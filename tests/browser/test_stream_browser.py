"""Watching while it is made, in a real browser: Debian's Chromium, a live server and a real worker.

The Create page starts playing the request's HLS stream (hls.js) while the request is still running,
plays it to the end without waiting for data, then shows the finished MP4 in its place.
"""
import os
import shutil

import pytest

from tests.browser.test_browser_flows import CHROMIUM, CHROMIUM_ARGS, PASSWORD, cluster, generous_throttle  # noqa: F401
from tests.browser.waiting import wait_until

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

if sync_playwright is None or not os.path.exists(CHROMIUM):
    pytest.skip("browser tests need playwright and Chromium", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FIRST_JOB_MS = 240_000  # the worker loads its pipeline on the first job
# ~12 s of speech: long enough that the request still runs when its first second plays
TEXT = ("Hello there! My name is Avatar. I speak while my video is still being made, and you can watch me "
        "from the very first second. Nice to meet you!")
# every media event the page's videos fire, on whichever element is current (the MP4 replaces the stream's)
RECORDER = """() => {
  window.__media = [];
  for (const type of ["playing", "waiting", "ended", "error"])
    document.addEventListener(type, (e) => window.__media.push([type, e.target.currentTime,
      e.target.currentSrc.startsWith("blob:") ? "stream" : "mp4"]), true);
}"""
STATUS = "async (id) => (await (await fetch(`/api/v1/generations/${id}/`)).json()).status"


def test_the_create_page_plays_the_stream_while_running_then_the_mp4(browser_ctx, live_server, user, avatar, cluster,
                                                                      generous_throttle, tmp_path):
    page = browser_ctx.new_page()
    page.set_default_timeout(20_000)
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
    shots = tmp_path / "shots"
    shots.mkdir()

    page.goto(f"{live_server.url}/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    # the worker's first job builds its pipeline: warm it up with a short one first
    page.check("input[name=language][value=en]")
    page.fill("#id_text", "Warm up.")
    page.click("#submit")
    page.wait_for_selector("#download[href$='download=1']", state="attached", timeout=FIRST_JOB_MS)

    page.evaluate(RECORDER)
    page.fill("#id_text", TEXT)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/generations/") and r.request.method == "POST") as sent:
        page.click("#submit")
    request_id = sent.value.json()["id"]
    wait_until(page, "window.__media.some(([type, , src]) => type === 'playing' && src === 'stream')", timeout=60_000)
    wait_until(page, "document.getElementById('video').currentTime > 0.2", timeout=20_000)
    status_while_playing = page.evaluate(STATUS, request_id)
    expect(page.locator("#live")).to_be_visible()
    page.locator("#result").screenshot(path=str(shots / "1-streaming.png"))
    assert status_while_playing == "running", "the stream should play before the request is done"

    # Ready while the stream still plays (the worker outruns real time): the label goes at once, the stream plays on
    wait_until(page, "!document.getElementById('finished').hidden", timeout=120_000)
    still_streaming = page.evaluate("(() => { const v = document.getElementById('video');"
                                    " return v.currentSrc.startsWith('blob:') && !v.ended; })()")
    expect(page.locator("#live")).to_be_hidden()
    page.locator("#result").screenshot(path=str(shots / "1b-ready-still-streaming.png"))

    # to the end of the stream, then the MP4 in its place at its last frame
    wait_until(page, "window.__media.some(([type, , src]) => type === 'ended' && src === 'stream')", timeout=120_000)
    wait_until(page, "document.getElementById('video').currentSrc.includes('/video')", timeout=20_000)
    assert page.evaluate(STATUS, request_id) == "done"
    final = page.evaluate("(() => { const v = document.getElementById('video');"
                          " return {t: v.currentTime, d: v.duration, error: v.error && v.error.code}; })()")
    page.locator("#result").screenshot(path=str(shots / "2-finished.png"))
    media = page.evaluate("window.__media")
    started = next(i for i, (kind, _, src) in enumerate(media) if kind == "playing" and src == "stream")
    stalls = [event for event in media[started:] if event[0] == "waiting" and event[2] == "stream"]
    assert stalls == [], media  # never waited for data once playing
    assert not [event for event in media if event[0] == "error"], media
    ended_at = next(t for kind, t, src in media if kind == "ended" and src == "stream")
    assert abs(ended_at - final["d"]) <= 0.2 and final["t"] >= final["d"] - 0.2 and final["error"] is None, (final, media)
    expect(page.locator("#live")).to_be_hidden()
    assert still_streaming, "the request should be ready before its stream has played out"

    # the detail page of a running request plays its stream too, then offers the finished MP4
    page.fill("#id_text", TEXT + " " + TEXT + " " + TEXT)  # long enough to be running when the page opens
    with page.expect_response(lambda r: r.url.endswith("/api/v1/generations/") and r.request.method == "POST") as sent:
        page.click("#submit")
    second = sent.value.json()["id"]
    page.goto(f"{live_server.url}/generations/{second}/")
    page.evaluate(RECORDER)
    wait_until(page, "window.__media.some(([type, , src]) => type === 'playing' && src === 'stream')", timeout=60_000)
    assert page.evaluate(STATUS, second) == "running"
    page.locator("#detail").screenshot(path=str(shots / "3-detail-streaming.png"))
    wait_until(page, f"({STATUS})({second}).then((s) => window.__status = s) && window.__status === 'done'",
               timeout=120_000)
    wait_until(page, "document.getElementById('video').duration > 20", timeout=20_000)  # the ended playlist's length
    page.evaluate("(() => { const v = document.getElementById('video'); v.currentTime = v.duration - 1; })()")
    wait_until(page, "window.__media.some(([type, , src]) => type === 'ended' && src === 'stream')", timeout=60_000)
    expect(page.locator("#finished")).to_be_visible()
    assert page.evaluate("document.getElementById('video').currentSrc").endswith(f"/generations/{second}/video")
    page.locator("#detail").screenshot(path=str(shots / "4-detail-finished.png"))
    assert problems == [], problems
    extra = os.environ.get("BROWSER_SHOTS_DIR")
    if extra:
        os.makedirs(extra, exist_ok=True)
        for shot in shots.iterdir():
            shutil.copy(shot, extra)


@pytest.fixture
def browser_ctx(user):
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    user.set_password(PASSWORD)
    user.save()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium.new_context(locale="en-US", viewport={"width": 1000, "height": 900})
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous

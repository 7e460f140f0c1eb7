"""Real browser against a real `streamlit run`: what only a browser shows (uploads, the WebRTC round trip, layout).

Drives Debian's /usr/bin/chromium through Playwright's Python client (no Playwright browser download). The
webcam is Chromium's fake capture device playing a .y4m file made here from a Yale face on a grey frame.
Screenshots of every page go to $TEST_ARTIFACTS (default tests/artifacts/) for a human to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

from dashboard.navigation import PAGES as NAVIGATION
from emotion_core.labels import EMOTIONS
from emotion_core.vision.decode import read_image
from tests.conftest import shared_photo

pytestmark = pytest.mark.slow  # a real browser

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "tests" / "artifacts"))
EMOTION_WORD = re.compile(rf"\b({'|'.join(EMOTIONS)})\b", re.IGNORECASE)
FACE_LABEL = re.compile(rf"Person \d+: ({'|'.join(EMOTIONS)}) \d+ %")
WEBRTC_IFRAME = 'iframe[title="streamlit_webrtc.component.webrtc_streamer"]'
SCRIPT_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PAGES = {"home": "", "photo": "photo", "dataset": "dataset", "train": "train", "evaluate": "evaluate"}
NAV_LINK = '[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]'
APP_PAGES = [spec.title for spec in NAVIGATION]
# Every link text the sidebar's navigation ever holds, the last line of each (its title; the icon's name precedes
# it), recorded on each DOM change: a list shown for a moment and replaced is caught too.
RECORD_NAV_TITLES = (
    f"const navLinks = {json.dumps(NAV_LINK)};"
    + """
window.navTitlesSeen = [];
new MutationObserver(() => {
  for (const link of document.querySelectorAll(navLinks)) {
    const title = link.innerText.trim().split('\\n').pop().trim();
    if (title && !window.navTitlesSeen.includes(title)) window.navTitlesSeen.push(title);
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
)

if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} missing: apt-get install chromium chromium-driver", allow_module_level=True)
try:
    from playwright.sync_api import Browser, Page, sync_playwright
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:
    pytest.skip("playwright (Python client) missing: pip install -r requirements-dev.txt", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, server: subprocess.Popen, log: Path, timeout_s: float = 120) -> None:
    """Poll Streamlit's health endpoint; fail early, with the log's path, if the server died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not answer within {timeout_s} s; see {log}")


@contextmanager
def streamlit_server(runs: Path, log_name: str) -> Iterator[str]:
    """`streamlit run app.py` on a free port, with its own runs folder; yields the base URL."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
    ]
    with open(ARTIFACTS / log_name, "wb") as log:
        server = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, "EMOTION_RUNS": str(runs)}, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://localhost:{port}"
    try:
        wait_until_healthy(url, server, ARTIFACTS / log_name)
        yield url
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running server; an empty runs folder means only the shipped model is listed."""
    with streamlit_server(tmp_path_factory.mktemp("runs"), "streamlit.log") as url:
        yield url


def write_y4m(path: Path, photo: Path, frames: int = 60) -> Path:
    """A 640x480, 30 frames/s raw video for Chromium's fake camera: the photo on grey, as I420 planes."""
    face = read_image(photo)
    frame = np.full((480, 640, 3), 128, np.uint8)
    top, left = (480 - face.shape[0]) // 2, (640 - face.shape[1]) // 2
    frame[top : top + face.shape[0], left : left + face.shape[1]] = face
    i420 = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes()  # Y plane, then U, then V: what C420 means
    with open(path, "wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            out.write(b"FRAME\n" + i420)
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Headless Chromium whose camera is the y4m file and whose permission prompts say yes."""
    video = write_y4m(tmp_path_factory.mktemp("camera") / "face.y4m", shared_photo("01_happy.png"))
    args = [
        "--headless=new",  # given here (Playwright's headless flag off) so the fake camera works as in a real window
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=False, args=args)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)  # the first visit loads TensorFlow and the model on a busy 2-core machine
    yield page
    context.close()


def open_page(page: Page, app_url: str, path: str) -> None:
    """Go to a page and wait until its script has finished (not only until the HTML loaded)."""
    page.goto(f"{app_url}/{path}")
    page.wait_for_selector(SCRIPT_IDLE, timeout=120_000)


def main_text(page: Page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_every_page_renders_without_an_exception(page: Page, app_url: str) -> None:
    for name, path in PAGES.items():
        open_page(page, app_url, path)
        page.wait_for_timeout(1000)  # tables and charts draw after the script has finished
        page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0, f"{name} page shows an exception"


def test_photo_page_names_an_emotion_for_an_uploaded_face(page: Page, app_url: str, tmp_path: Path) -> None:
    upload = tmp_path / "face.png"  # a neutral name, so the file name shown by the uploader names no emotion
    shutil.copy(shared_photo("01_happy.png"), upload)
    open_page(page, app_url, "photo")
    assert page.get_by_role("heading", name="Photo").count() > 0
    before = len(EMOTION_WORD.findall(main_text(page)))

    page.locator('input[type="file"]').first.set_input_files(upload)

    deadline = time.monotonic() + 60
    while len(EMOTION_WORD.findall(main_text(page))) <= before:
        assert time.monotonic() < deadline, "no emotion name appeared on the Photo page after the upload"
        page.wait_for_timeout(500)
    page.wait_for_selector(SCRIPT_IDLE)
    page.screenshot(path=ARTIFACTS / "photo-result.png", full_page=True)


def start_stream(page: Page) -> None:
    """Click START and wait for the server's first label; retry once, as about 1 START in 25 never gets a frame."""
    webrtc = page.frame_locator(WEBRTC_IFRAME)
    for attempt in range(2):
        webrtc.get_by_role("button", name=re.compile("^start$", re.IGNORECASE)).click()
        try:
            page.get_by_text(FACE_LABEL).wait_for(timeout=15_000 * (attempt + 1))
            return
        except PlaywrightTimeout:
            if attempt:
                raise
            webrtc.get_by_role("button", name=re.compile("^stop$", re.IGNORECASE)).click()


def test_webcam_page_labels_the_fake_camera_face(page: Page, app_url: str) -> None:
    open_page(page, app_url, "webcam")
    page.wait_for_selector(WEBRTC_IFRAME)

    start_stream(page)
    label = page.get_by_text(FACE_LABEL).first.inner_text()
    page.get_by_text("Frames/s").wait_for()
    page.wait_for_timeout(3000)  # a few polls, so the chart has a line and the video shows drawn boxes
    page.screenshot(path=ARTIFACTS / "webcam.png", full_page=True)
    video_size = page.frame_locator(WEBRTC_IFRAME).locator("video").evaluate("v => [v.videoWidth, v.videoHeight]")

    assert FACE_LABEL.search(label), label
    assert min(video_size) > 0  # annotated frames come back to the browser (WebRTC may scale them under load)
    page.frame_locator(WEBRTC_IFRAME).get_by_role("button", name=re.compile("^stop$", re.IGNORECASE)).click()
    page.get_by_role("button", name="Save recording").wait_for(timeout=30_000)  # the stream's rows, after STOP


def health(url: str) -> bytes:
    """The server's health answer; an error (not an assertion) when nothing listens any more."""
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
        return response.read()


def sidebar_pages(page: Page) -> list[str]:
    page.locator(NAV_LINK).first.wait_for()
    # Each link reads "<material icon name>\n\n<title>"; the title is the last line.
    return [text.strip().splitlines()[-1] for text in page.locator(NAV_LINK).all_inner_texts()]


def test_any_visit_order_keeps_the_server_alive_and_the_app_navigation(browser: Browser, tmp_path: Path) -> None:
    """A fresh server, a deep link first (a bookmark after a restart), then the pages that used to kill it.

    Before: /photo first got Streamlit's file-based list (app, common, ...); then / killed the server (SIGSEGV:
    pylibsrtp loaded after TensorFlow, see dashboard/load_order.py).
    """
    with streamlit_server(tmp_path, "streamlit-visit-order.log") as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        for path in ("photo", "", "webcam", "train"):
            open_page(page, url, path)
            if path == "webcam":
                page.wait_for_selector(WEBRTC_IFRAME)
                start_stream(page)  # the WebRTC stack loads after TensorFlow here: what used to kill the server
                page.wait_for_timeout(2000)  # a few streamed frames; leaving the page closes the stream
            assert health(url) == b"ok", f"server unhealthy after /{path}"
            assert sidebar_pages(page) == APP_PAGES, f"sidebar after /{path}"
            assert page.locator('[data-testid="stException"]').count() == 0, f"/{path} shows an exception"
        context.close()


def test_a_deep_link_first_shows_the_app_navigation_at_once(browser: Browser, tmp_path: Path) -> None:
    """A fresh server, /photo opened first: the app's page titles within 8 s, and never Streamlit's file list.

    Before (page check after the page's imports): the file list (app, batch, dataset, ...) for 10-25 s.
    """
    with streamlit_server(tmp_path, "streamlit-deep-link.log") as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.add_init_script(RECORD_NAV_TITLES)
        started = time.monotonic()
        page.goto(f"{url}/photo")
        page.wait_for_function(
            "([links, n]) => document.querySelectorAll(links).length === n", arg=[NAV_LINK, len(APP_PAGES)], polling=50
        )
        shown_after_s = time.monotonic() - started
        assert sidebar_pages(page) == APP_PAGES
        page.get_by_role("heading", name="Photo").wait_for(timeout=120_000)  # the page itself, after TensorFlow
        seen = page.evaluate("window.navTitlesSeen")
        context.close()
    assert shown_after_s < 8, f"the app's navigation took {shown_after_s:.1f} s"
    assert seen == APP_PAGES, f"the sidebar also listed {[t for t in seen if t not in APP_PAGES]}"


def stop_server(server: subprocess.Popen) -> None:
    """End a test's Streamlit server: politely, then for good if it has not gone within 15 s."""
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()

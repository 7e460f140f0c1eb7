"""Two visitors on one fresh server, in real Chromium: what visitor A uploads stays A's.

A (a viewer) uploads a dataset zip whose photos are named ``alice_secret_*`` on the Dataset page and sees them. B logs
in as admin (the strongest visitor: every path is allowed, ``EMOTION_DATA_ROOTS=/``) and types every path the server
keeps under its temp folder (``TMPDIR`` points into tmp_path, so the test lists them) into the Dataset and Batch
pages' path boxes: B never sees those names and no job starts. A's page shows no server path. Then a Photo upload
past the pixel cap gets its one-line message and the server stays healthy. One server start.
(That B cannot cancel A's run or read A's batch rows is checked in the core: tests/test_sharing.py.)
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from emotion_core.passwords import hash_password
from emotion_core.vision.decode import read_image
from tests.conftest import jpeg_bytes, shared_photo
from tests.test_browser import ARTIFACTS, ROOT, SCRIPT_IDLE, browser, free_port, health, stop_server, wait_until_healthy  # noqa: F401

pytestmark = pytest.mark.slow  # a real server and browser

PASSWORD = "correct horse battery"
SECRET = "alice_secret"


def alices_zip(path: Path) -> Path:
    """Photos (so the Dataset page detects faces and captions each photo with its file name) named alice_secret_*."""
    members = {
        "train/happy/alice_secret_1.jpg": "01_happy.png",
        "train/sad/alice_secret_2.jpg": "01_sad.png",
        "test/happy/alice_secret_3.jpg": "01_normal.png",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, photo in members.items():
            archive.writestr(name, jpeg_bytes(read_image(shared_photo(photo))))
    return path


def png_claiming(width: int, height: int) -> bytes:
    """A PNG of a few bytes whose header declares width x height (a pixel bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def idle(page) -> None:
    page.wait_for_timeout(400)  # the rerun the last input started has begun
    page.wait_for_selector(SCRIPT_IDLE, timeout=60_000)


def body(page) -> str:
    return page.locator("body").inner_text()


def type_path(page, label: str, path: str) -> None:
    box = page.get_by_role("textbox", name=label, exact=True)
    box.fill(path)
    box.press("Enter")
    idle(page)


def test_a_visitors_upload_stays_theirs(browser, tmp_path: Path) -> None:  # noqa: F811
    temp, jobs = tmp_path / "tmp", tmp_path / "jobs"
    temp.mkdir()
    env = {
        **os.environ,
        "TMPDIR": str(temp),
        "EMOTION_RUNS": str(tmp_path / "runs"),
        "EMOTION_BATCH_JOBS": str(jobs),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "EMOTION_DATA_ROOTS": "/",  # every path allowed: only the private storage rule stands between B and A
        "EMOTION_ADMIN_PASSWORD_HASH": hash_password(PASSWORD, iterations=1000),
    }
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    log_path = ARTIFACTS / "streamlit-sharing.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [*command, "--server.port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://localhost:{port}"
    try:
        wait_until_healthy(url, server, log_path)
        alice = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        alice.set_default_timeout(60_000)
        alice.goto(f"{url}/dataset")
        idle(alice)
        alice.get_by_text("Upload a zip").click()
        idle(alice)
        alice.locator('input[type="file"]').first.set_input_files(alices_zip(tmp_path / "holiday.zip"))
        deadline = time.monotonic() + 90
        while SECRET not in body(alice):
            assert time.monotonic() < deadline, "A never saw their own photos' names"
            alice.wait_for_timeout(500)
        shown = body(alice)
        assert "(your uploaded zip)" in shown
        for server_path in (str(temp), str(tmp_path), str(ROOT), "/tmp/"):
            assert server_path not in shown, f"A's page shows a server path: {server_path}"

        kept = [temp, *sorted(temp.rglob("*"))]
        assert any(p.suffix == ".zip" for p in kept), "the upload is kept under the server's temp folder"
        bob = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        bob.set_default_timeout(60_000)
        bob.goto(f"{url}/dataset")
        idle(bob)
        bob.get_by_label("Admin password").fill(PASSWORD)
        bob.get_by_role("button", name="Log in as admin").click()
        idle(bob)
        assert "Logged in as admin" in body(bob)
        for path in kept:
            type_path(bob, "Dataset path", str(path))
            assert SECRET not in body(bob), f"B saw A's photos through {path}"
            assert bob.locator('[data-testid="stException"]').count() == 0
        bob.goto(f"{url}/batch")
        idle(bob)
        for path in kept:
            type_path(bob, "Folder or zip path (images and videos, walked recursively)", str(path))
            bob.get_by_role("button", name="Start batch job").click()
            idle(bob)
            text = body(bob)
            assert SECRET not in text and "Started job" not in text, f"B reached A's upload through {path}"
        assert not jobs.exists() or not [p for p in jobs.iterdir() if p.is_dir()], "a job was started"

        bob.goto(f"{url}/photo")
        idle(bob)
        bombs = [tmp_path / f"big_{i}.png" for i in range(6)]
        for bomb in bombs:
            bomb.write_bytes(png_claiming(8000, 5000))  # 40 megapixels each, 240 in all, ~60 bytes
        started = time.monotonic()
        bob.locator('input[type="file"]').first.set_input_files(bombs)
        bob.get_by_text("at most 100 per upload").wait_for(timeout=30_000)
        assert time.monotonic() - started < 30
        assert health(url) == b"ok"
    finally:
        stop_server(server)

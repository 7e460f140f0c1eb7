"""Batch page and emotion_core.jobs.batch_jobs: a real background job over a tiny folder, one job at a time."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emotion_core.actors import SHELL
from emotion_core.errors import LimitError
from emotion_core.jobs import batch_jobs as jobs
from emotion_core.jobs.background import JobStatus
from emotion_core.vision.decode import read_image
from tests.conftest import jpeg_bytes, shared_photo

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "batch.py")


@pytest.fixture
def setting(tmp_path, monkeypatch, random_tiny_run):
    """A jobs folder, a runs folder holding the tiny model as 'tiny', and a folder of three photos."""
    monkeypatch.setenv("EMOTION_BATCH_JOBS", str(tmp_path / "jobs"))
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    shutil.copytree(random_tiny_run, tmp_path / "runs" / "tiny")
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("01_happy.png", "02_sad.png", "03_normal.png"):
        (folder / f"{name}.jpg").write_bytes(jpeg_bytes(read_image(shared_photo(name))))
    (folder / "broken.jpg").write_bytes(b"not an image")
    return folder


def wait_for(job_dir: Path, timeout: float = 120) -> JobStatus:
    deadline = time.monotonic() + timeout
    while (status := jobs.job_status(job_dir)).alive and time.monotonic() < deadline:
        time.sleep(0.5)
    return status


def test_the_page_starts_a_job_then_shows_its_rows_chart_and_downloads(setting):
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.session_state["model_name"] = "tiny"
    app.run()
    assert not app.exception and "No batch jobs yet." in [i.value for i in app.info]
    app.text_input[0].input(str(setting))
    app.button[0].click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.success[0].value.startswith("Started job")
    job = jobs.list_jobs()[0]
    finished = wait_for(job.folder)
    assert finished.status == "finished", jobs.log_tail(finished, SHELL)
    app.run()
    assert not app.exception and not app.error
    assert "4 images/frames, 3 faces, 1 errors" in app.success[-1].value
    assert "local engine on 1 node" in app.success[-1].value and "images/s" in app.success[-1].value
    table = app.dataframe[0].value
    assert len(table) == 4 and set(table["model"]) == {"tiny"}
    assert table.loc[table["error"].notna(), "source"].str.endswith("broken.jpg").all()
    assert sum(jobs.class_counts(table)["faces"]) == 3


def test_a_second_job_is_refused_while_one_runs(setting):
    job_dir = jobs.jobs_dir() / "job-fake"
    job_dir.mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "batch"])
    try:
        (job_dir / jobs.JOB).write_text(json.dumps({"pid": sleeper.pid, "owner": SHELL.owner}))
        time.sleep(0.5)  # past fork and exec: its command line now says 'batch'
        assert jobs.job_status(job_dir).status == "starting"
        with pytest.raises(LimitError, match="one at a time per visitor"):
            jobs.start_folder_job(str(setting), actor=SHELL)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert jobs.job_status(job_dir).status == "failed"


def test_a_path_outside_the_data_roots_or_an_empty_upload_is_refused(setting):
    with pytest.raises(jobs.JobError):
        jobs.start_folder_job("/etc", actor=SHELL)
    with pytest.raises(jobs.JobError, match="empty"):
        jobs.start_upload_job(b"", actor=SHELL)


def test_a_running_ray_job_shows_its_engine_nodes_and_images_per_second(setting):
    """The progress line of a job the Ray engine runs (its progress file as the job writes it)."""
    job_dir = jobs.jobs_dir() / "job-ray"
    job_dir.mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "batch"])
    try:
        (job_dir / jobs.JOB).write_text(json.dumps({"pid": sleeper.pid, "engine": "ray"}))
        progress = {"status": "running", "done": 40, "total": 100, "rate": 12.5, "engine": "ray", "nodes": 2}
        (job_dir / jobs.PROGRESS).write_text(json.dumps(progress))
        time.sleep(0.5)  # past fork and exec: its command line now says 'batch'
        assert jobs.where(jobs.job_status(job_dir)) == "ray engine on 2 nodes"
        app = AppTest.from_file(PAGE, default_timeout=60)
        app.session_state["model_name"] = "tiny"
        app.session_state["batch_job"] = "job-ray"
        app.run()
        assert not app.exception
        text = app.get("progress")[0].proto.text
        assert "12.5 images/s" in text and "ray engine on 2 nodes" in text and "40/100" in text
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_ray_engine_is_refused_with_how_to_install_when_ray_is_missing(setting, monkeypatch):
    monkeypatch.setattr(jobs, "ray_available", lambda: False)
    with pytest.raises(jobs.JobError, match="pip install -r requirements-ray.txt"):
        jobs.start_folder_job(str(setting), engine="ray", actor=SHELL)
    assert jobs.list_jobs() == []

"""Sharing the dashboard safely, in the core: roles, the admin password, ownership of runs and batch jobs, the
caps, and what a finished run leaves on disk. Each check acts as the wrong visitor and expects a refusal."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from emotion_core.actors import Action, Actor, Role, require, require_owner, starting_access
from emotion_core.data.access import check_data_path
from emotion_core.errors import (
    DataPathNotAllowedError,
    LimitError,
    NotAllowedError,
    UploadLimitError,
    hide_paths,
)
from emotion_core.jobs import background
from emotion_core.jobs import batch_jobs as jobs
from emotion_core.limits import JobLimits, PhotoLimits, RunLimits, VideoLimits
from emotion_core.passwords import hash_password, valid_hash, verify_password
from emotion_core.paths import SAMPLE_DATA, default_data_path
from emotion_core.storage import OwnerStore
from emotion_core.vision.decode import declared_pixels
from train import launcher
from train.config import TrainConfig

ALICE = Actor("alice-session")
BOB = Actor("bob-session")
ADMIN = Actor("admin", Role.ADMIN)


def sleeper(marker: str) -> subprocess.Popen:
    """A sleeping process whose command line carries ``marker`` ('train', 'batch'): a job without the CPU."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", marker], start_new_session=True)


@pytest.fixture
def runs(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


@pytest.fixture
def alices_run(runs):
    """A run in progress that Alice launched (a sleeping 'train' process with her owner record)."""
    process = sleeper("train")
    run = runs / "alices"
    run.mkdir(parents=True)
    (run / "state.json").write_text(json.dumps({"status": "running", "epoch": 1, "epochs": 3, "pid": process.pid}))
    (run / "owner.json").write_text(json.dumps({"owner": ALICE.owner, "started": time.time()}))
    yield run, process
    process.kill()
    process.wait()


@pytest.fixture
def alices_job(tmp_path, monkeypatch):
    """A finished batch job of Alice's (rows and log), and a running one: what Bob must not read or stop."""
    monkeypatch.setenv("EMOTION_BATCH_JOBS", str(tmp_path / "jobs"))
    import pandas as pd

    done = jobs.jobs_dir() / "job-done"
    done.mkdir(parents=True)
    (done / jobs.JOB).write_text(json.dumps({"pid": None, "owner": ALICE.owner, "input": "x"}))
    (done / jobs.PROGRESS).write_text(json.dumps({"status": "finished", "done": 1, "total": 1}))
    pd.DataFrame({"source": ["alice_secret_01.jpg"], "emotion": ["happy"]}).to_parquet(done / jobs.RESULTS)
    (done / jobs.LOG).write_text("reading alice_secret_01.jpg\n")
    process = sleeper("batch")
    going = jobs.jobs_dir() / "job-going"
    going.mkdir()
    (going / jobs.JOB).write_text(json.dumps({"pid": process.pid, "owner": ALICE.owner, "started": time.time()}))
    (going / jobs.UPLOAD).write_bytes(b"PK-alice's photos")
    time.sleep(0.3)  # past fork and exec: its command line now says 'batch'
    yield done, going, process
    process.kill()
    process.wait()


# Roles and the password


def test_the_starting_role_follows_the_bound_address_and_the_password():
    for address in ("localhost", "127.0.0.1", "::1"):
        assert starting_access(address, password_set=False).role is Role.ADMIN
    for address in ("0.0.0.0", "", None, "192.168.1.20"):
        access = starting_access(address, password_set=False)
        assert access.role is Role.VIEWER and not access.login and "hash-password" in access.reason
    with_password = starting_access("127.0.0.1", password_set=True)
    assert with_password.role is Role.VIEWER and with_password.login


def test_a_viewer_may_not_train_manage_models_or_type_server_paths_and_an_admin_may():
    for action in Action:
        with pytest.raises(NotAllowedError, match="only an admin"):
            require(ALICE, action)
        require(ADMIN, action)
    require_owner(ALICE, ALICE.owner, "it")
    require_owner(ADMIN, ALICE.owner, "it")
    for owner in (ALICE.owner, "", None):
        with pytest.raises(NotAllowedError, match="belongs to another visitor"):
            require_owner(BOB, owner, "it")


def test_the_password_is_stored_hashed_salted_and_checked():
    stored = hash_password("correct horse", iterations=1000)
    assert "correct horse" not in stored and valid_hash(stored)
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored) and not verify_password("", stored)
    assert hash_password("correct horse", iterations=1000) != stored, "a new salt each time"
    assert not verify_password("correct horse", "correct horse"), "a plain password in the secrets is no hash"
    assert not valid_hash("correct horse") and not verify_password("x", "pbkdf2_sha256$10$zz$zz")


def test_hash_password_command_prints_a_hash_that_verifies(monkeypatch, capsys):
    from emotion_core.serve.cli import cli

    monkeypatch.setattr(sys, "stdin", io.StringIO("a long password\n"))
    assert cli(["hash-password"]) == 0
    stored = capsys.readouterr().out.strip()
    assert verify_password("a long password", stored)
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert cli(["hash-password"]) == 2


# Paths


def test_a_viewer_opens_only_their_upload_and_the_default_dataset(tmp_path, monkeypatch):
    monkeypatch.delenv("EMOTION_DATA_ROOTS")  # the tests allow the temp folder; a server does not
    own = OwnerStore("alice", root=tmp_path)
    upload = own.put(b"PK...", ".zip")
    assert check_data_path(upload, own, server_paths=False) == upload.resolve()
    assert check_data_path(default_data_path(), own, server_paths=False)
    with pytest.raises(DataPathNotAllowedError, match="only an admin") as refused:
        check_data_path(SAMPLE_DATA.parent, own, server_paths=False)
    assert str(SAMPLE_DATA.parent) not in str(refused.value)
    assert check_data_path(SAMPLE_DATA.parent, own, server_paths=True)
    bob = OwnerStore("bob", root=tmp_path)
    with pytest.raises(DataPathNotAllowedError):
        check_data_path(upload, bob, server_paths=True)  # even an admin does not reach another's upload


def test_no_typed_path_reaches_an_upload_even_where_every_path_is_allowed(monkeypatch):
    monkeypatch.setenv("EMOTION_DATA_ROOTS", "/")
    upload = OwnerStore("alice").put(b"PK alice", ".zip")  # in the server's private folder
    assert check_data_path(upload, OwnerStore("alice"), server_paths=False)
    for path in (upload, upload.parent, upload.parent.parent, upload.parents[3], Path("/")):
        with pytest.raises(DataPathNotAllowedError, match="private storage of visitors' uploads"):
            check_data_path(path, OwnerStore("bob"), server_paths=True)  # holding it counts: a walk would reach it


def test_hide_paths_cuts_every_absolute_path_to_its_last_part():
    text = "no such file: /tmp/emotion-abc/uploads/9f/3a.zip; also '/etc/passwd' but not runs/x or http://h/a/b"
    shown = hide_paths(text)
    assert "/tmp" not in shown and "/etc" not in shown and "emotion-abc" not in shown
    assert "…/3a.zip" in shown and "…/passwd" in shown and "runs/x" in shown and "http://h/a/b" in shown


# Training runs


def test_another_visitor_cannot_cancel_resume_or_read_a_run_but_its_owner_and_an_admin_can(alices_run):
    run, process = alices_run
    status = launcher.run_status(run)
    assert status.owner == ALICE.owner and status.alive  # everyone sees that it is busy
    for act in (
        lambda: launcher.cancel(run, BOB),
        lambda: launcher.resume(run, BOB),
        lambda: launcher.read_log(run, BOB),
        lambda: launcher.output_tail(run, BOB),
    ):
        with pytest.raises(NotAllowedError):
            act()
    assert process.poll() is None, "Bob's cancel stopped nothing"
    assert launcher.output_tail(run, ALICE) == ""
    assert launcher.cancel(run, ADMIN).status == "interrupted"


def test_a_viewer_cannot_launch_and_an_admin_is_held_to_the_epoch_and_disk_caps(runs, tiny_zip):
    config = TrainConfig(data=str(tiny_zip), architecture="tiny", epochs=3)
    with pytest.raises(NotAllowedError):
        launcher.launch(config, ALICE)
    with pytest.raises(LimitError, match="at most 2"):
        launcher.launch(config, ADMIN, limits=RunLimits(max_epochs=2, max_runs_gb=5))
    runs.mkdir(parents=True)
    (runs / "big.bin").write_bytes(b"\0" * 2_000_000)
    with pytest.raises(LimitError, match="past its 0.001 GB cap: delete models"):
        launcher.launch(config, ADMIN, limits=RunLimits(max_epochs=10, max_runs_gb=0.001))
    assert launcher.list_runs() == []


def test_a_run_past_its_time_budget_gives_way_to_another_admin(alices_run, tiny_zip, monkeypatch):
    run, process = alices_run
    started: list[subprocess.Popen] = []

    def fake_start(argv, log):
        started.append(sleeper("train"))
        return started[-1]

    monkeypatch.setattr(launcher, "start_process", fake_start)
    other = Actor("other-admin", Role.ADMIN)
    config = TrainConfig(data=str(tiny_zip), architecture="tiny", epochs=1)
    try:
        with pytest.raises(LimitError, match="try again later"):
            launcher.launch(config, other)  # within its budget: Alice's run keeps the slot
        monkeypatch.setenv("EMOTION_RUN_HOURS", "0")
        assert launcher.launch(config, other).owner == other.owner
        assert process.wait(timeout=15) is not None, "the overdue run was stopped"
    finally:
        for sleeping in started:
            sleeping.kill()
            sleeping.wait()


def test_a_finished_run_drops_its_checkpoint_unless_kept(tmp_path, tiny_zip):
    from train.fit import fit

    config = TrainConfig(data=str(tiny_zip), architecture="tiny", epochs=1, batch_size=8)
    dropped = fit(config, tmp_path / "dropped")
    assert (dropped / "model.keras").is_file() and not (dropped / "checkpoint.keras").exists()
    assert (TrainConfig.__dataclass_fields__["keep_checkpoint"].default, "--keep-checkpoint") == (
        False,
        "--keep-checkpoint",
    )


# Batch jobs


def test_another_visitor_sees_a_job_busy_but_not_its_rows_log_or_cancel(alices_job):
    done, going, process = alices_job
    listed = {job.name: job for job in jobs.list_jobs()}
    assert listed["job-going"].alive and listed["job-done"].status == "finished"
    finished = listed["job-done"]
    for act in (
        lambda: jobs.results(finished, BOB),
        lambda: jobs.results_path(finished, BOB),
        lambda: jobs.log_tail(finished, BOB),
        lambda: jobs.cancel_job(going, BOB),
    ):
        with pytest.raises(NotAllowedError, match="belongs to another visitor"):
            act()
    assert process.poll() is None and (going / jobs.UPLOAD).is_file()
    assert list(jobs.results(finished, ALICE)["source"]) == ["alice_secret_01.jpg"]
    assert "alice_secret" in jobs.log_tail(finished, ADMIN)


def test_the_owner_cancels_a_job_and_its_uploaded_zip_is_deleted(alices_job):
    _done, going, process = alices_job
    assert jobs.cancel_job(going, ALICE).status == "cancelled"
    assert process.wait(timeout=15) is not None
    assert not (going / jobs.UPLOAD).exists(), "the visitor's zip outlived its job"


def test_one_job_per_visitor_and_a_few_in_all(alices_job, monkeypatch):
    _done, going, _process = alices_job
    monkeypatch.setattr(jobs, "start_process", lambda argv, log: pytest.fail("nothing may start"))
    with pytest.raises(LimitError, match="one at a time per visitor"):
        jobs.start_upload_job(b"PK", actor=ALICE)
    monkeypatch.setenv("EMOTION_BATCH_JOBS_AT_ONCE", "1")
    with pytest.raises(LimitError, match="at once at most"):
        jobs.start_upload_job(b"PK", actor=BOB)
    with pytest.raises(jobs.JobError, match="only an admin"):
        jobs.start_folder_job(str(SAMPLE_DATA.parent), actor=BOB)


def test_admit_stops_only_another_visitors_overdue_job():
    now = time.time()
    old = background.JobStatus(Path("old"), "running", owner="alice", started=now - 100)
    new = background.JobStatus(Path("new"), "running", owner="carol", started=now)
    stopped: list[str] = []
    limits = JobLimits(per_owner=1, total=2, budget_s=50)
    background.admit(BOB, [old, new], limits, lambda job: stopped.append(job.name))
    assert stopped == ["old"]
    with pytest.raises(LimitError, match="one at a time"):
        background.admit(Actor("alice"), [old], limits, lambda job: stopped.append(job.name))


def test_background_jobs_run_at_a_lower_priority(tmp_path):
    log = tmp_path / "nice.log"
    process = background.start_process(["-c", "import os; print(os.nice(0))"], log)
    process.wait(timeout=30)
    assert int(log.read_text().split()[-1]) >= os.nice(0) + background.NICENESS


# Limits on uploads


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` (its pixels are never there)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def test_photo_caps_count_files_and_declared_pixels_before_decoding():
    big = png_header(8000, 5000)
    assert len(big) < 100 and declared_pixels(big) == 40_000_000 and declared_pixels(b"nope") == 0
    limits = PhotoLimits(max_files=20, max_megapixels=100)
    limits.check([declared_pixels(big)] * 2)
    with pytest.raises(UploadLimitError, match="at most 100 per upload"):
        limits.check([declared_pixels(big)] * 6)
    with pytest.raises(UploadLimitError, match="at most 20 per upload"):
        limits.check([1] * 21)


def test_video_cap_reads_the_header_length():
    limits = VideoLimits(max_minutes=10, max_frames=30_000)
    limits.check(frames=25 * 60 * 5, fps=25)
    with pytest.raises(UploadLimitError, match="at most 10 min"):
        limits.check(frames=25 * 60 * 30, fps=25)
    with pytest.raises(UploadLimitError, match="30,000 frames"):
        limits.check(frames=40_000, fps=1000)

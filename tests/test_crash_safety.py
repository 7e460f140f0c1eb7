"""kill -9 of a training run at a random moment after its first checkpoint: everything it left parses, the run
reads 'interrupted', and a resume ends with every epoch in log.csv exactly once."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, make_dataset_files, write_zip
from train import launcher
from train.run_state import trim_log

pytestmark = pytest.mark.slow  # subprocesses

EPOCHS = 30


def start_fit(args: list[str], runs: Path) -> subprocess.Popen:
    env = {**os.environ, "EMOTION_RUNS": str(runs), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "train", "fit", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def log_epochs(run: Path) -> list[str]:
    return [row["epoch"] for row in csv.DictReader((run / "log.csv").open())]


def test_sigkill_mid_run_then_resume_gives_every_epoch_once(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    data = write_zip(tmp_path / "d.zip", make_dataset_files({"angry": 12, "happy": 12, "sad": 12}))
    run = tmp_path / "runs" / "killed"
    args = ["--data", str(data), "--architecture", "tiny", "--epochs", str(EPOCHS), "--batch-size", "8"]
    trainer = start_fit([*args, "--out", str(run)], tmp_path / "runs")

    deadline = time.monotonic() + 240
    while not (run / "checkpoint.keras").exists() and trainer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    delay = random.Random().uniform(0.0, 1.0)
    time.sleep(delay)
    trainer.send_signal(signal.SIGKILL)
    output = trainer.communicate(timeout=30)[0]
    assert trainer.returncode == -signal.SIGKILL, f"ended before the kill ({delay:.2f}s after checkpoint 1):\n{output}"

    state = json.loads((run / "state.json").read_text())
    json.loads((run / "config.json").read_text())
    assert state["status"] == "running" and 1 <= state["epoch"] < EPOCHS, state
    import keras

    assert keras.models.load_model(run / "checkpoint.keras").output_shape == (None, 3)
    status = launcher.run_status(run)
    assert (status.status, status.alive, launcher.resumable(status)) == ("interrupted", False, True)

    # The worst moment to die: CSVLogger has written the next epoch's row (or half of one) but its checkpoint
    # never landed. Force that state so the test does not depend on where the random kill fell.
    done = state["epoch"]
    rows = log_epochs(run)
    with (run / "log.csv").open("a") as log:
        if str(done) not in rows:
            log.write(f"{done},0.5,0.001,1.0,0.5,1.0\n")
        log.write(f"{done + 1},0.4")  # cut mid-row: no newline

    resumed = start_fit(["--resume", str(run)], tmp_path / "runs")
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output[-3000:]
    assert f"resuming {run} after epoch {done}/{EPOCHS}" in output
    assert log_epochs(run) == [str(e) for e in range(EPOCHS)], "every epoch once, in order"
    assert launcher.run_status(run).status == "finished"
    assert json.loads((run / "metadata.json").read_text())["training"]["epochs"] == EPOCHS


@pytest.mark.parametrize(
    "text, keep, expected",
    [
        ("epoch,loss\n0,1.0\n1,0.9\n2,0.8\n", 2, "epoch,loss\n0,1.0\n1,0.9\n"),
        ("epoch,loss\n0,1.0\n1,0.9\n2,0.", 2, "epoch,loss\n0,1.0\n1,0.9\n"),
        ("epoch,loss\n0,1.0\n1,0.9\n1,0.7\n2,0.6\n", 2, "epoch,loss\n0,1.0\n1,0.7\n"),
        ("epoch,lo", 0, ""),
        ("", 0, ""),
    ],
    ids=["extra-row", "partial-row", "duplicate-keeps-the-rerun", "cut-header", "empty"],
)
def test_trim_log(tmp_path, text, keep, expected):
    path = tmp_path / "log.csv"
    path.write_text(text)
    trim_log(path, keep)
    assert path.read_text() == expected

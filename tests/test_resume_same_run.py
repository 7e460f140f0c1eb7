"""A run killed with SIGKILL and resumed in a new process is the same run as one never interrupted (issue 25).

Before the fix, each new process restarted tf.data's shuffle and the augmentation's random ops from the seed, so
resumed epoch k replayed epoch 0's batches (same images, same warps, same labels) and the resumed run memorised
them: train accuracy 0.944 against the uninterrupted run's 0.139 on the bundled sample, validation at chance in
both. Now each batch is a pure function of (seed, epoch, step), and Dropout's generator state is saved per epoch.

The student network (small, with batch norm and dropout) at batch 16 takes enough steps on the sample's 252 faces
to learn within the test's budget; the VGG at the default batch of 64 gets 4 steps an epoch and, after 8 epochs,
has not learnt yet (it has not collapsed either: its loss falls every epoch).
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # subprocesses

SAMPLE = REPO / "sample_data" / "fer2013-sample"
EPOCHS = 12
CHANCE = 1 / 7  # the sample has the same number of faces in each class
TOLERANCE = 1e-4  # relative; the same batches in the same order leave only float summation order to differ


def fit(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "train", "fit", *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def rows(run: Path) -> list[dict[str, float]]:
    return [{k: float(v) for k, v in row.items()} for row in csv.DictReader((run / "log.csv").open())]


def kill_after_epoch(trainer: subprocess.Popen, run: Path, epoch: int) -> None:
    """SIGKILL as soon as the checkpoint of ``epoch`` has landed (the run is then inside the next epoch)."""
    deadline = time.monotonic() + 300
    while trainer.poll() is None and time.monotonic() < deadline:
        try:
            if json.loads((run / "state.json").read_text())["epoch"] >= epoch:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.01)
    trainer.send_signal(signal.SIGKILL)
    trainer.communicate(timeout=30)
    assert trainer.returncode == -signal.SIGKILL, "the run ended before it could be killed"


def test_a_killed_and_resumed_run_matches_the_uninterrupted_one(tmp_path):
    args = ["--data", str(SAMPLE), "--architecture", "student", "--epochs", str(EPOCHS), "--batch-size", "16"]
    whole = fit([*args, "--out", str(tmp_path / "whole")])
    assert whole.wait(timeout=600) == 0
    run = tmp_path / "killed"
    kill_after_epoch(fit([*args, "--out", str(run)]), run, 4)
    kill_after_epoch(fit(["--resume", str(run)]), run, 8)
    assert fit(["--resume", str(run)]).wait(timeout=600) == 0

    expected, got = rows(tmp_path / "whole"), rows(run)
    assert [r["epoch"] for r in got] == list(range(EPOCHS))
    for a, b in zip(expected, got, strict=True):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
            assert b[key] == pytest.approx(a[key], rel=TOLERANCE, abs=1e-6), (int(a["epoch"]), key, a[key], b[key])
    learnt = max(r["accuracy"] for r in expected[-3:])
    assert learnt > CHANCE + 0.1, f"the uninterrupted run did not learn: train accuracy {learnt:.3f}"

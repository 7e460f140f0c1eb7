"""Train page and train.launcher: a real background run on tiny data, one run at a time, dead runs not 'running'."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emotion_core.actors import SHELL
from emotion_core.classify.registry import list_models
from emotion_core.errors import LaunchError, LimitError
from emotion_core.jobs.background import JobStatus
from train import launcher
from train.config import TrainConfig

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def runs(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


@pytest.fixture
def fake_trainer(runs):
    """A sleeping process whose command line says 'train', posing as a run in progress (no TensorFlow, no CPU)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "train"], start_new_session=True)
    run = runs / "fake"
    run.mkdir(parents=True)
    (run / "state.json").write_text(json.dumps({"status": "running", "epoch": 1, "epochs": 3, "pid": process.pid}))
    yield run, process
    if process.poll() is None:
        process.kill()
        process.wait()


def wait_for(run_dir: Path, timeout: float = 180) -> JobStatus:
    deadline = time.monotonic() + timeout
    while (status := launcher.run_status(run_dir)).alive and time.monotonic() < deadline:
        time.sleep(1)
    return status


def test_launch_runs_in_background_refuses_a_second_and_lands_in_the_registry(runs, tiny_zip):
    config = TrainConfig(data=str(tiny_zip), architecture="tiny", epochs=1, batch_size=8)
    started = launcher.launch(config, SHELL)
    assert started.alive and started.folder.parent == runs
    with pytest.raises(LimitError, match="cancel it or wait"):
        launcher.launch(config, SHELL)

    finished = wait_for(started.folder)
    assert finished.status == "finished", launcher.output_tail(started.folder, SHELL)
    assert (finished.done, finished.total) == (1, 1)
    assert list(launcher.read_log(started.folder, SHELL)["epoch"]) == [1]
    assert list_models()[started.name] == started.folder
    assert launcher.active_run() is None


def test_invalid_config_or_data_is_refused_before_launch(runs, tiny_zip, tmp_path):
    with pytest.raises(LaunchError, match="no such dataset path"):
        launcher.launch(TrainConfig(data=str(tmp_path / "nothing.zip"), architecture="tiny"), SHELL)
    with pytest.raises(LaunchError, match="learning rate"):
        launcher.launch(TrainConfig(data=str(tiny_zip), architecture="tiny", learning_rate=5.0), SHELL)
    with pytest.raises(LaunchError, match="no 'validation' split"):
        launcher.launch(TrainConfig(data=str(tiny_zip), architecture="tiny", train_split="validation"), SHELL)
    assert launcher.list_runs() == []


def test_a_run_whose_process_died_reads_interrupted_and_cancel_stops_a_live_one(fake_trainer):
    run, process = fake_trainer
    assert launcher.run_status(run).status == "running"
    assert launcher.active_run().name == "fake"

    stopped = launcher.cancel(run, SHELL)
    assert process.wait(timeout=10) is not None
    assert stopped.status == "interrupted" and not stopped.alive
    assert launcher.resumable(stopped) is False, "no config.json: it never reached training"
    assert launcher.active_run() is None


def test_train_page_refuses_a_second_launch_and_shows_progress(fake_trainer, tiny_zip):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["data_path"] = str(tiny_zip)
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert "epoch 1/3" in at.get("progress")[0].proto.text

    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception
    assert "'fake' is running" in at.error[0].value
    assert [run.name for run in launcher.list_runs()] == ["fake"], "nothing new was started"


def test_train_page_shows_a_finished_run_with_its_curves(runs, tiny_run):
    finished = runs / "done"
    finished.parent.mkdir(parents=True, exist_ok=True)
    finished.symlink_to(tiny_run, target_is_directory=True)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert "finished after epoch 1/1" in at.success[0].value
    curves = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert len(curves) == 2 and '"loss"' in curves[0] and '"accuracy"' in curves[1]
    assert "done" in at.sidebar.selectbox[0].options


def test_cancel_from_the_page_stops_the_process_and_the_run_reads_interrupted(fake_trainer):
    run, process = fake_trainer
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/train.py").run()
    next(b for b in at.button if b.label == "Stop training").click().run()
    assert not at.exception
    assert launcher.run_status(run).status == "interrupted"
    assert "fake: interrupted after epoch 1/3" in at.warning[0].value
    assert not any(b.label == "Resume run" for b in at.button), "never reached training: nothing to resume"


@pytest.mark.slow  # a subprocess
def test_resume_continues_an_interrupted_run_to_the_end(runs, tiny_run):
    run = runs / "interrupted"
    shutil.copytree(tiny_run, run)
    (run / "model.keras").unlink()  # as if killed mid-training: checkpoint but no final model
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "epochs": 2, "out": str(run)}))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run / "state.json").write_text(json.dumps({"status": "running", "epoch": 1, "epochs": 2, "pid": dead.pid}))
    assert launcher.run_status(run).status == "interrupted"

    launcher.resume(run, SHELL)
    finished = wait_for(run)
    assert (finished.status, finished.done, finished.total) == ("finished", 2, 2), launcher.output_tail(run, SHELL)
    assert list(launcher.read_log(run, SHELL)["epoch"]) == [1, 2]
    assert "interrupted" in list_models()
    with pytest.raises(LaunchError, match="cannot be resumed"):
        launcher.resume(run, SHELL)

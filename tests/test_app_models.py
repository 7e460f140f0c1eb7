"""Models page (table, rename, delete with confirmation, comparison chart) and the Train page's start-from-model box."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from dashboard import common
from emotion_core.classify.predictor import Predictor
from emotion_core.classify.registry import list_models
from emotion_core.classify.run_folder import COMBINE_DIR
from emotion_core.data.evaluate import evaluate_predictor
from emotion_core.jobs.background import JobStatus
from train import combine, ensemble, launcher

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def models_page(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page("pages/models.py").run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_table_lists_the_models(runs):
    at = models_page()
    assert list(at.dataframe[0].value["model"]) == ["default", "student", "alpha", "beta"]


def test_rename_and_a_refused_clash(runs):
    at = models_page(model_name="alpha")
    at.text_input(key="rename_new").input("beta")
    button(at, "Rename").click().run()
    assert "a model or run named 'beta' already exists" in at.error[0].value
    assert set(list_models()) == {"default", "student", "alpha", "beta"}

    at.text_input(key="rename_new").input("gamma")
    button(at, "Rename").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Renamed 'alpha' to 'gamma'."
    assert list(at.dataframe[0].value["model"]) == ["default", "student", "beta", "gamma"]
    assert at.session_state["model_name"] == "gamma", "the sidebar follows the renamed model"
    assert json.loads((runs / "gamma" / "metadata.json").read_text())["name"] == "gamma"


def test_delete_needs_the_confirming_click(runs):
    at = models_page()
    at.selectbox(key="delete_name").select("beta").run()
    assert (runs / "beta").is_dir(), "choosing a model deletes nothing"
    button(at, "Delete 'beta' for good").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Deleted 'beta'." and not (runs / "beta").exists()
    assert "default" not in at.selectbox(key="delete_name").options


def test_compare_draws_grouped_recall_bars(runs, tiny_zip):
    at = models_page(data_path=str(tiny_zip))
    at.multiselect(key="compare_models").set_value(["alpha", "beta"]).run()
    button(at, "Compare").click().run()
    assert not at.exception, at.exception
    chart = next(c for c in at.get("vega_lite_chart") if '"xOffset"' in c.proto.spec)
    bars = convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
    assert sorted(bars["model"].unique()) == ["alpha", "beta"]
    assert len(bars) == 8 and set(bars["class"]) == {"angry", "happy", "sad", "neutral"}


@pytest.fixture
def train_page(runs, tiny_zip, monkeypatch) -> tuple[AppTest, list]:
    """The Train page with a dataset picked, and the configs its Start button launched (nothing really starts)."""
    launched = []

    def fake_launch(config, actor, own=None):
        launched.append(config)
        return JobStatus(runs / "new", "starting", 0, config.epochs, 1)

    monkeypatch.setattr(launcher, "launch", fake_launch)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["data_path"] = str(tiny_zip)
    at.switch_page("pages/train.py").run()
    return at, launched


def test_train_page_starts_from_a_chosen_model(train_page):
    at, launched = train_page
    start_from = next(s for s in at.selectbox if s.label == "Start from model")
    assert start_from.value.startswith("none") and {"default", "alpha", "beta"} <= set(start_from.options)
    start_from.select("alpha")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert launched and launched[0].init == "alpha"


def test_train_page_distils_from_the_chosen_teachers(train_page):
    at, launched = train_page
    teachers = next(m for m in at.multiselect if m.label.startswith("Distil from"))
    assert {"alpha", "beta"} <= set(teachers.options) and teachers.value == []
    teachers.select("alpha").select("beta")
    next(s for s in at.slider if s.label == "Teacher weight").set_value(0.8)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception
    assert launched and launched[0].teachers == ["alpha", "beta"] and launched[0].teacher_weight == 0.8


def test_combine_refuses_a_single_model_a_taken_name_and_unlike_members(runs):
    at = models_page()
    at.multiselect(key="combine_models").select("alpha")
    at.text_input(key="combine_name").input("pair")
    button(at, "Combine").click().run()
    assert "at least two" in at.error[0].value and not (runs / "pair").exists()

    at.multiselect(key="combine_models").select("beta")
    at.text_input(key="combine_name").input("beta")
    button(at, "Combine").click().run()
    assert "already exists" in at.error[0].value

    metadata = json.loads((runs / "beta" / "metadata.json").read_text())
    (runs / "beta" / "metadata.json").write_text(json.dumps({**metadata, "labels": metadata["labels"][::-1]}))
    at.text_input(key="combine_name").input("pair")
    button(at, "Combine").click().run()
    assert "names classes" in at.error[0].value and not (runs / COMBINE_DIR / "pair").exists(), "no job started"


def test_a_failed_combine_says_why_in_one_line(runs):
    job = runs / COMBINE_DIR / "pair"
    job.mkdir(parents=True)
    (job / "job.json").write_text(json.dumps({"pid": 2**22 + 1, "members": ["alpha", "beta"]}))  # no such process
    (job / "combine.log").write_text("step: loading member 1/2: alpha\nerror: model 'beta' does not end in a softmax\n")
    at = models_page(combine_job="pair")
    assert [e.value for e in at.error] == ["Could not combine 'pair': model 'beta' does not end in a softmax"]
    assert "combine_job" not in at.session_state


def test_a_running_combine_shows_its_step(runs):
    """A sleeping process whose command line says 'train' poses as the job (no TensorFlow, no CPU)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "train"], start_new_session=True)
    try:
        job = runs / COMBINE_DIR / "pair"
        job.mkdir(parents=True)
        (job / "job.json").write_text(json.dumps({"pid": process.pid, "members": ["alpha", "beta"]}))
        log = "step: loading member 1/2: alpha\nI0000 00:00:1.2 cudart_stub.cc:31] Could not find cuda\n"
        (job / "combine.log").write_text(log + "step: loading member 2/2: beta\nW0000 a TensorFlow warning\n")
        at = models_page(combine_job="pair")
        progress = at.get("progress")[0].proto
        assert progress.text == "Combining alpha, beta into 'pair': loading member 2/2: beta…"
        assert progress.value == 25  # one of four steps done: alpha loaded
        assert at.session_state["combine_job"] == "pair" and not at.error
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow  # a real `python -m train ensemble` process (TensorFlow starts in it)
def test_combine_runs_in_the_background_and_saves_an_ensemble(runs, monkeypatch):
    def in_process(*args, **kwargs):
        raise AssertionError("the ensemble was built in the app's process")

    monkeypatch.setattr(ensemble, "ensemble", in_process)
    at = models_page()
    at.multiselect(key="combine_models").set_value(["alpha", "beta"])
    at.text_input(key="combine_name").input("pair")
    button(at, "Combine").click().run()
    assert not at.exception, at.exception
    assert "Combining alpha, beta into 'pair'" in at.get("progress")[0].proto.text

    deadline = time.monotonic() + 180
    while combine.combine_status("pair").job.alive:
        assert time.monotonic() < deadline, "the combine job did not finish in 3 minutes"
        time.sleep(1)
    at.run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Saved 'pair', the ensemble of alpha, beta."
    assert "pair" in list(at.dataframe[0].value["model"])
    metadata = json.loads((runs / "pair" / "metadata.json").read_text())
    assert metadata["architecture"] == "ensemble" and metadata["training"]["members"] == ["alpha", "beta"]


def test_rename_forgets_only_the_renamed_models_cache(runs, tiny_zip, monkeypatch):
    """Another visitor's cached model and scores survive a rename; only what was cached as 'alpha' goes."""
    for name in ("alpha", "beta"):
        common.evaluation_or_error(name, str(tiny_zip), "test")
    loads, scorings = [], []
    load = Predictor.load.__func__
    monkeypatch.setattr(Predictor, "load", classmethod(lambda cls, *a, **k: loads.append(a) or load(cls, *a, **k)))
    monkeypatch.setattr(common, "evaluate_predictor", lambda *a, **k: scorings.append(a) or evaluate_predictor(*a, **k))

    at = models_page(model_name="alpha")
    at.text_input(key="rename_new").input("gamma")
    button(at, "Rename").click().run()
    assert at.success[0].value == "Renamed 'alpha' to 'gamma'."

    common.evaluation_or_error("beta", str(tiny_zip), "test")
    assert not loads and not scorings, "beta's Predictor and scores were dropped too"
    common.evaluation_or_error("gamma", str(tiny_zip), "test")
    assert len(loads) == 1 and len(scorings) == 1, "the renamed model is loaded and scored under its new name"

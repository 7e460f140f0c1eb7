"""Models page (table, rename, delete with confirmation, comparison chart) and the Train page's start-from-model box."""

import json
from pathlib import Path

from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from emotion_core.classify.registry import list_models
from emotion_core.jobs.background import JobStatus
from train import launcher

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
    assert list(at.dataframe[0].value["model"]) == ["default", "alpha", "beta"]


def test_rename_and_a_refused_clash(runs):
    at = models_page(model_name="alpha")
    at.text_input(key="rename_new").input("beta")
    button(at, "Rename").click().run()
    assert "a model or run named 'beta' already exists" in at.error[0].value
    assert set(list_models()) == {"default", "alpha", "beta"}

    at.text_input(key="rename_new").input("gamma")
    button(at, "Rename").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Renamed 'alpha' to 'gamma'."
    assert list(at.dataframe[0].value["model"]) == ["default", "beta", "gamma"]
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


def test_train_page_starts_from_a_chosen_model(runs, tiny_zip, monkeypatch):
    launched = []

    def fake_launch(config):
        launched.append(config)
        return JobStatus(runs / "new", "starting", 0, config.epochs, 1)

    monkeypatch.setattr(launcher, "launch", fake_launch)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["data_path"] = str(tiny_zip)
    at.switch_page("pages/train.py").run()
    start_from = next(s for s in at.selectbox if s.label == "Start from model")
    assert start_from.value.startswith("none") and {"default", "alpha", "beta"} <= set(start_from.options)
    start_from.select("alpha")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert launched and launched[0].init == "alpha"


def test_combine_saves_an_ensemble_and_refuses_a_single_model(runs):
    at = models_page()
    at.multiselect(key="combine_models").select("alpha")
    at.text_input(key="combine_name").input("pair")
    button(at, "Combine").click().run()
    assert "at least two" in at.error[0].value and not (runs / "pair").exists()

    at.multiselect(key="combine_models").select("beta")
    button(at, "Combine").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Saved 'pair', the ensemble of alpha, beta."
    assert "pair" in list(at.dataframe[0].value["model"])
    metadata = json.loads((runs / "pair" / "metadata.json").read_text())
    assert metadata["architecture"] == "ensemble" and metadata["training"]["members"] == ["alpha", "beta"]

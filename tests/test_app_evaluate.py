"""Evaluate page: a tiny trained model on tiny data gives the same confusion matrix as ``python -m train evaluate``."""

from pathlib import Path

from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from dashboard.common import get_predictor
from emotion_core.classify.predictor import Predictor
from emotion_core.data.evaluate import confident_mistakes
from train.evaluate import evaluate, evaluate_with_predictions

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_confusion_matrix_per_class_table_and_mistakes(tiny_run, tiny_zip, monkeypatch):
    monkeypatch.setenv("EMOTION_RUNS", str(tiny_run.parent))
    expected = evaluate(tiny_zip, "test", tiny_run)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["model_name"] = tiny_run.name
    at.session_state["data_path"] = str(tiny_zip)
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception
    next(b for b in at.button if b.label.startswith("Evaluate")).click().run()
    assert not at.exception, at.exception

    assert at.metric[0].value == f"{expected['accuracy']:.1%}"
    assert at.metric[1].value == str(expected["n"])
    per_class = at.dataframe[0].value
    assert list(per_class.index) == expected["labels"]
    assert per_class["support"].sum() == expected["n"]

    chart = next(c for c in at.get("vega_lite_chart") if '"rect"' in c.proto.spec)
    cells = convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
    matrix = cells.pivot(index="true", columns="predicted", values="count")
    matrix = matrix.loc[expected["labels"], expected["confusion_columns"]]
    assert matrix.to_numpy().tolist() == expected["confusion"]

    columns = expected["confusion_columns"]
    rows = zip(expected["labels"], expected["confusion"], strict=True)
    correct = sum(row[columns.index(label)] for label, row in rows)
    wrong = expected["n"] - correct
    gallery = at.get("image")
    shown = len(gallery[0].proto.imgs) if gallery else 0
    assert shown == min(wrong, 24)


def test_confident_mistakes_are_wrong_and_sorted(tiny_run, tiny_zip):
    result = evaluate_with_predictions(tiny_zip, "test", tiny_run)
    assert len(result.refs) == len(result.y) == len(result.probabilities) == result.report["n"]
    mistakes = confident_mistakes(result.x, result.y, result.probabilities, result.labels, result.refs, limit=5)
    assert all(m.true != m.predicted for m in mistakes)
    assert [m.confidence for m in mistakes] == sorted((m.confidence for m in mistakes), reverse=True)
    for m in mistakes:
        i = result.refs.index(m.ref)
        assert result.labels[result.y[i]] == m.true and result.labels[result.probabilities[i].argmax()] == m.predicted


def test_evaluate_and_compare_share_the_apps_cached_predictor(tiny_run, tiny_zip, monkeypatch):
    """One model load for both pages (the Photo page's too): neither loads a copy of its own."""
    monkeypatch.setenv("EMOTION_RUNS", str(tiny_run.parent))
    get_predictor.clear()
    loads = []
    load = Predictor.load.__func__
    monkeypatch.setattr(Predictor, "load", classmethod(lambda cls, *a, **k: loads.append(a) or load(cls, *a, **k)))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["model_name"] = tiny_run.name
    at.session_state["data_path"] = str(tiny_zip)
    at.switch_page("pages/evaluate.py").run()
    next(b for b in at.button if b.label.startswith("Evaluate")).click().run()
    assert not at.exception, at.exception
    at.switch_page("pages/models.py").run()
    at.multiselect(key="compare_models").set_value([tiny_run.name]).run()
    at.button(key="compare").click().run()
    assert not at.exception, at.exception
    assert at.get("vega_lite_chart"), "the comparison was drawn"
    assert loads == [(tiny_run.name,)], loads

import json

import numpy as np
import pytest

from emotion_core.data.evaluate import score
from tests.conftest import run_module


def test_score_by_hand():
    labels = ["a", "b", "c"]
    y_true = np.array([0, 0, 1, 1, 1])
    y_pred = np.array([0, 1, 1, 1, 2])  # c never occurs in the data but is predicted once
    report = score(y_true, y_pred, labels)
    assert report["accuracy"] == 0.6 and report["n"] == 5
    assert set(report["per_class"]) == {"a", "b"}  # scored on the classes the data has
    assert report["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert report["per_class"]["b"]["precision"] == 0.6667 and report["per_class"]["b"]["recall"] == 0.6667
    assert report["confusion"] == [[1, 1, 0], [0, 2, 1]]


@pytest.mark.slow  # a subprocess
def test_evaluate_cli_ends_with_the_json_line(tiny_run, tiny_zip):
    done = run_module("train", "evaluate", "--data", tiny_zip, "--split", "test", "--model", tiny_run)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    report = json.loads(lines[-1])
    assert report["n"] == 24 and 0 <= report["accuracy"] <= 1
    assert set(report["per_class"]) == {"angry", "happy", "sad", "neutral"}
    assert sum(map(sum, report["confusion"])) == 24
    assert "precision" in done.stdout and "confusion (rows: true" in done.stdout


@pytest.mark.slow  # a subprocess
def test_evaluate_cli_bad_dataset_is_one_line(tmp_path):
    done = run_module("train", "evaluate", "--data", tmp_path / "missing.zip")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"error: no such dataset path: {tmp_path / 'missing.zip'}"


def test_dataset_missing_classes_is_scored_on_the_classes_it_has(tiny_run, tmp_path):
    from tests.conftest import make_dataset_files, write_zip
    from train.evaluate import evaluate

    data = write_zip(tmp_path / "two.zip", make_dataset_files({"happiness": 3, "sadness": 2}, splits=("test",)))
    report = evaluate(data, "test", tiny_run)
    assert report["n"] == 5 and set(report["per_class"]) == {"happy", "sad"}
    assert len(report["confusion"]) == 2 and len(report["confusion"][0]) == 4  # the model still chooses among 4

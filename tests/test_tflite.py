"""TFLite export: float32/float16/int8 files beside the run, a Predictor over them, evaluate naming the runtime."""

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest

from emotion_core.classify.network import load_run
from emotion_core.classify.predictor import Predictor
from emotion_core.classify.tflite import export_run
from emotion_core.classify.views import TestTimeViews
from emotion_core.errors import ModelNotFoundError
from tests.conftest import fake_face, run_module
from train.evaluate import evaluate
from train.export import calibration_faces, export


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    """A copy of the tiny run (exports write beside the model) with all three TFLite variants."""
    run = shutil.copytree(tiny_run, tmp_path_factory.mktemp("export") / "tiny")
    for quantize in ("none", "float16", "int8"):
        export(run, quantize)
    return run


def faces(n: int) -> np.ndarray:
    return np.stack([fake_face(100 + i, i % 4) for i in range(n)])[..., None]


def test_exports_sit_beside_the_run_and_are_recorded(exported, tiny_zip):
    metadata = json.loads((exported / "metadata.json").read_text())
    assert set(metadata["exports"]) == {"model.tflite", "model.float16.tflite", "model.int8.tflite"}
    for name, record in metadata["exports"].items():
        assert (exported / name).stat().st_size == record["bytes"] > 0
    assert str(tiny_zip) in metadata["exports"]["model.int8.tflite"]["calibration"]
    assert not list(exported.glob("*.tmp"))


def test_tflite_predictor_matches_keras(exported):
    keras_probs = Predictor.load(exported).classify(faces(9))
    for name, tolerance in (("model.tflite", 1e-4), ("model.float16.tflite", 1e-2), ("model.int8.tflite", 0.1)):
        lite = Predictor.load(exported / name)
        assert lite.labels == ["angry", "happy", "sad", "neutral"]
        np.testing.assert_allclose(lite.classify(faces(9)), keras_probs, atol=tolerance, err_msg=name)
    assert Predictor.load(exported, runtime="tflite").file == "model.tflite"


def test_test_time_views_are_honoured(exported):
    lite = Predictor.load(exported / "model.tflite")
    batch = faces(4)
    plain, mirrored = lite.model(batch), lite.model(batch[:, :, ::-1].copy())
    averaged = Predictor(lite.model, replace(lite.card, views=TestTimeViews(mirror=True)), forward=lite.model)
    np.testing.assert_allclose(averaged.classify(batch), (plain + mirrored) / 2, atol=1e-6)
    np.testing.assert_allclose(averaged.classify(batch, TestTimeViews()), plain, atol=1e-6)


def test_one_interpreter_is_safe_across_threads_and_batch_sizes(exported):
    lite = Predictor.load(exported / "model.tflite")
    batches = [faces(n) for n in (1, 3, 7, 2, 5, 1, 4, 6) * 3]
    expected = [lite.classify(b) for b in batches]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lite.classify, batches))
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.slow  # a subprocess
def test_evaluate_cli_names_the_tflite_runtime(exported, tiny_zip):
    done = run_module("train", "evaluate", "--data", tiny_zip, "--model", exported / "model.int8.tflite")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["runtime"] == "tflite" and report["file"] == "model.int8.tflite"
    assert "(tflite model.int8.tflite)" in done.stdout.splitlines()[0]
    keras_report = evaluate(tiny_zip, "test", exported)
    assert keras_report["runtime"] == "keras" and report["n"] == keras_report["n"]


def test_int8_falls_back_to_the_bundled_sample_with_a_warning(tiny_run, tmp_path, caplog):
    run = shutil.copytree(tiny_run, tmp_path / "tiny")
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "data": str(tmp_path / "gone.zip")}))
    with caplog.at_level("WARNING"):
        x, source = calibration_faces(run, limit=10)
    assert x.shape == (10, 48, 48, 1) and "fallback" in source
    assert "training data unavailable" in caplog.text


def test_missing_export_says_how_to_make_it(tiny_run):
    with pytest.raises(ModelNotFoundError, match="python -m train export"):
        Predictor.load(tiny_run, runtime="tflite")


def test_export_run_refuses_unknown_quantization(tiny_run):
    with pytest.raises(ValueError, match="unknown quantization"):
        export_run(tiny_run, "int4")
    assert not load_run(tiny_run)[1].exports

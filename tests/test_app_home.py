"""Home page: describes the model chosen in the picker from that model's own metadata."""

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def fake_run(root: Path, name: str, accuracy: float, recalls: dict[str, float]) -> Path:
    """A run folder the registry lists; Home reads only metadata.json, so model.keras can be a stub."""
    run = root / name
    run.mkdir(parents=True)
    (run / "model.keras").write_bytes(b"stub")
    per_class = {c: {"precision": 0.5, "recall": r, "f1": 0.5, "support": 10} for c, r in recalls.items()}
    metadata = {
        "name": name,
        "labels": list(recalls),
        "architecture": "tiny",
        "input_size": 48,
        "color": "grey",
        "metrics": {"accuracy": accuracy, "n": 10 * len(recalls), "per_class": per_class},
        "training": {"train_images": 123},
    }
    (run / "metadata.json").write_text(json.dumps(metadata))
    return run


def test_home_shows_the_picked_models_metadata(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path))
    fake_run(tmp_path, "my-run", 0.625, {"happy": 0.75, "sad": 0.5})
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["model_name"] = "my-run"
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox[0].value == "my-run"
    assert "my-run" in at.header[0].value
    assert at.metric[0].value == "62.5%"
    per_class = at.dataframe[0].value
    assert per_class["recall"].to_dict() == {"happy": 0.75, "sad": 0.5}
    assert "happy, sad" in " ".join(m.value for m in at.markdown)
    models = at.dataframe[1].value
    assert set(models["model"]) == {"default", "my-run"}


def test_home_reports_a_broken_model_folder_without_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path))
    run = fake_run(tmp_path, "broken", 0.5, {"happy": 0.5})
    (run / "metadata.json").write_text("{not json")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["model_name"] = "broken"
    at.run()
    assert not at.exception
    assert "cannot read" in at.error[0].value

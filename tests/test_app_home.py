"""Home page: describes the model chosen in the picker from that model's own metadata."""

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard.navigation import PAGES

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
        "training": {"train_images": 123, "data": "/srv/private/faces.zip", "epochs": 3},
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
    assert set(models["model"]) == {"default", "student", "my-run"}


def test_home_reports_a_broken_model_folder_without_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path))
    run = fake_run(tmp_path, "broken", 0.5, {"happy": 0.5})
    (run / "metadata.json").write_text("{not json")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["model_name"] = "broken"
    at.run()
    assert not at.exception
    assert "cannot read" in at.error[0].value


def page_text(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def test_home_lists_every_page_of_the_apps_navigation(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    listed = [line for line in page_text(at).splitlines() if line.startswith("- **")]
    assert listed == [f"- **{page.title}**: {page.summary}." for page in PAGES if not page.default]
    assert any("**Batch**" in line for line in listed)


def test_home_describes_the_model_in_words_without_a_server_path(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path))
    fake_run(tmp_path, "my-run", 0.625, {"happy": 0.75, "sad": 0.5})
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["model_name"] = "my-run"
    at.run()
    text = page_text(at)
    assert "Trained on 123 images from faces.zip for 3 epochs." in text
    assert "62.5% right on 20 held-out images" in text and "Best at happy (finds 75% of them)" in text
    assert "shrunk to 48×48 pixels" in text and "10% extra on every side" in text
    assert "PreprocessConfig" not in text and "/srv/private" not in text

"""Dataset paths typed into the dashboard stay within the allowed roots; the command line is not confined."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import emotion_core.data.summary as explore
from emotion_core.data.access import allowed_data_roots, check_data_path
from emotion_core.errors import DataPathNotAllowedError, LaunchError
from emotion_core.paths import SAMPLE_DATA
from tests.conftest import REPO, make_dataset_files, write_zip

APP = str(REPO / "app.py")


@pytest.fixture
def default_roots(monkeypatch, tmp_path):
    monkeypatch.delenv("EMOTION_DATA_ROOTS", raising=False)
    monkeypatch.delenv("EMOTION_DATA", raising=False)
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(explore, "UPLOAD_DIR", tmp_path / "uploads")


def test_defaults_allow_the_sample_shared_data_runs_and_uploads(default_roots, tmp_path):
    assert check_data_path(SAMPLE_DATA) == SAMPLE_DATA.resolve()
    check_data_path(REPO.parent / "shared" / "data" / "fer2013" / "fer2013.zip")
    check_data_path(tmp_path / "runs" / "some-run")
    check_data_path(tmp_path / "uploads" / "0123abcd.zip")
    for outside in ["/etc/passwd", "/", str(tmp_path / "elsewhere.zip"), f"{SAMPLE_DATA}/../../../../etc"]:
        with pytest.raises(DataPathNotAllowedError, match="outside the folders this app may read"):
            check_data_path(outside)


def test_a_symlink_inside_a_root_cannot_lead_outside(default_roots, tmp_path):
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "link").symlink_to("/etc", target_is_directory=True)
    with pytest.raises(DataPathNotAllowedError):
        check_data_path(tmp_path / "uploads" / "link" / "passwd")


def test_roots_from_the_environment_replace_the_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("EMOTION_DATA_ROOTS", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    monkeypatch.setenv("EMOTION_DATA", str(tmp_path / "default.zip"))
    check_data_path(tmp_path / "a" / "x.zip")
    check_data_path(tmp_path / "b")
    check_data_path(tmp_path / "default.zip")  # the configured default dataset is always allowed
    assert SAMPLE_DATA.resolve() not in allowed_data_roots()
    with pytest.raises(DataPathNotAllowedError, match="EMOTION_DATA_ROOTS"):
        check_data_path(tmp_path / "c.zip")


def test_the_dataset_page_refuses_a_path_outside_the_roots(default_roots, tmp_path):
    outside = write_zip(tmp_path / "private.zip", make_dataset_files({"happy": 2}))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["data_path"] = str(outside)
    at.switch_page("pages/dataset.py").run()
    assert not at.exception, at.exception
    assert "outside the folders this app may read" in at.error[0].value
    assert not at.get("vega_lite_chart") and not at.get("imgs"), "nothing of the file was shown"


def test_training_from_the_app_refuses_a_path_outside_the_roots(default_roots, tmp_path):
    from train import launcher
    from train.config import TrainConfig

    outside = write_zip(tmp_path / "private.zip", make_dataset_files({"happy": 2}))
    with pytest.raises(LaunchError, match="outside the folders"):
        launcher.launch(TrainConfig(data=str(outside), architecture="tiny"))
    assert launcher.list_runs() == []

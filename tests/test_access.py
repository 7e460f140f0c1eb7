"""Dataset paths typed into the dashboard stay within the allowed roots; the command line is not confined."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from emotion_core.actors import SHELL
from emotion_core.data.access import allowed_data_roots, check_data_path
from emotion_core.errors import DataPathNotAllowedError, LaunchError
from emotion_core.paths import SAMPLE_DATA
from emotion_core.storage import OwnerStore
from tests.conftest import REPO, make_dataset_files, write_zip

APP = str(REPO / "app.py")


@pytest.fixture
def default_roots(monkeypatch, tmp_path):
    monkeypatch.delenv("EMOTION_DATA_ROOTS", raising=False)
    monkeypatch.delenv("EMOTION_DATA", raising=False)
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))


def test_defaults_allow_the_sample_shared_data_and_runs(default_roots, tmp_path):
    assert check_data_path(SAMPLE_DATA) == SAMPLE_DATA.resolve()
    check_data_path(REPO.parent / "shared" / "data" / "fer2013" / "fer2013.zip")
    check_data_path(tmp_path / "runs" / "some-run")
    for outside in ["/etc/passwd", "/", str(tmp_path / "elsewhere.zip"), f"{SAMPLE_DATA}/../../../../etc"]:
        with pytest.raises(DataPathNotAllowedError, match="outside the folders this app may read"):
            check_data_path(outside)


def test_a_symlink_inside_a_root_cannot_lead_outside(default_roots, tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "link").symlink_to("/etc", target_is_directory=True)
    with pytest.raises(DataPathNotAllowedError):
        check_data_path(tmp_path / "runs" / "link" / "passwd")


def test_an_upload_is_reachable_by_its_owner_only(default_roots, tmp_path):
    alice, bob = OwnerStore("alice", root=tmp_path / "private"), OwnerStore("bob", root=tmp_path / "private")
    stored = alice.put(b"PK\x05\x06" + b"\0" * 18)
    assert check_data_path(stored, own=alice) == stored.resolve()
    for visitor in (bob, None):
        for typed in (stored, stored.parent, stored.parent.parent):
            with pytest.raises(DataPathNotAllowedError) as refused:
                check_data_path(typed, own=visitor)
            assert str(tmp_path) not in str(refused.value), "the message shows no server path"


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
        launcher.launch(TrainConfig(data=str(outside), architecture="tiny"), SHELL)
    assert launcher.list_runs() == []

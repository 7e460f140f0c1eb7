"""The pages under each role: a viewer (a password is configured, or a network address without one) cannot train,
manage models or open server paths; the admin login (right and wrong password); the local user on loopback is
admin. The core refuses these too (tests/test_sharing.py); here the pages must not offer them."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from dashboard.auth import HASH_ENV
from emotion_core.passwords import hash_password
from emotion_core.paths import SAMPLE_DATA

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PASSWORD = "correct horse battery"


@pytest.fixture
def shared(monkeypatch, tmp_path):
    """A dashboard with an admin password configured: every session starts as a viewer."""
    monkeypatch.setenv(HASH_ENV, hash_password(PASSWORD, iterations=1000))
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("EMOTION_BATCH_JOBS", str(tmp_path / "jobs"))


def page(name: str, **state: object) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def labels(at: AppTest) -> set[str]:
    return {b.label for b in at.button} | {b.label for b in at.get("form_submit_button")}


def test_a_viewer_cannot_train_or_manage_models(shared):
    train = page("train")
    assert "Start training" not in labels(train)
    assert any("Training needs an admin" in i.value for i in train.info)
    models = page("models")
    assert not {"Rename", "Combine"} & labels(models)
    assert any("need an admin" in i.value for i in models.info)


def test_a_viewer_cannot_open_a_server_folder_and_the_message_names_none(shared):
    at = page("dataset", data_path=str(SAMPLE_DATA.parent))
    assert [e.value for e in at.error] == [
        "only an admin may open folders on the server by their path; upload a zip instead"
    ]
    assert at.text_input[0].value == str(SAMPLE_DATA.parent), "what they typed, not another path"
    default = page("dataset")  # the app's default dataset is open to everyone, shown by a label
    assert not default.error and default.text_input[0].value == "(default dataset)"
    shown = " ".join(c.value for c in default.caption)
    assert "sample" in shown and str(SAMPLE_DATA.parent.parent) not in shown, shown


def test_the_admin_login_refuses_a_wrong_password_and_accepts_the_right_one(shared):
    at = page("train")
    at.sidebar.text_input[0].input("wrong")
    at.sidebar.get("form_submit_button")[0].click().run()
    assert "Wrong password." in [e.value for e in at.error]
    assert "Start training" not in labels(at)
    at.sidebar.text_input[0].input(PASSWORD)
    at.sidebar.get("form_submit_button")[0].click().run()
    assert not at.exception
    assert "Start training" in labels(at) and "Log out" in labels(at)


def test_a_network_address_without_a_password_is_viewer_mode_and_says_why(monkeypatch, tmp_path):
    monkeypatch.delenv(HASH_ENV, raising=False)
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    previous = st_config.get_option("server.address")
    st_config.set_option("server.address", "0.0.0.0")
    try:
        at = page("train")
    finally:
        st_config.set_option("server.address", previous)
    assert any("Viewer mode" in w.value and "hash-password" in w.value for w in at.sidebar.warning)
    assert "Start training" not in labels(at)


def test_loopback_without_a_password_is_the_local_admin(monkeypatch, tmp_path):
    monkeypatch.delenv(HASH_ENV, raising=False)
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    assert st_config.get_option("server.address") == "localhost", ".streamlit/config.toml binds loopback"
    at = page("train")
    assert "Start training" in labels(at) and not at.sidebar.warning
    assert not at.sidebar.text_input, "no login offered: there is no password"

"""AppTest of the webcam page, streamlit-webrtc stubbed: it needs a real server runtime (the browser test has one)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import streamlit_webrtc
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def streamer_calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """Record webrtc_streamer's arguments and report a stopped stream (so the page does not enter its poll loop)."""
    calls: list[dict[str, Any]] = []

    def fake_streamer(**kwargs: Any) -> SimpleNamespace:
        calls.append(kwargs)
        return SimpleNamespace(state=SimpleNamespace(playing=False))

    monkeypatch.setattr(streamlit_webrtc, "webrtc_streamer", fake_streamer)  # the page imports it at run time
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path))
    return calls


def open_webcam_page() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)  # TensorFlow's import alone can pass the 3 s default
    app.run()
    app.switch_page("pages/webcam.py")
    return app.run()


def test_page_renders_video_only_stream_without_ice_servers(
    streamer_calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EMOTION_ICE_SERVERS", raising=False)
    app = open_webcam_page()

    assert not app.exception
    assert app.title[0].value == "Live webcam"
    assert "Press START" in app.info[0].value
    (call,) = streamer_calls
    assert call["rtc_configuration"] == {"iceServers": []}
    assert call["media_stream_constraints"] == {"video": True, "audio": False}
    assert callable(call["video_frame_callback"])


def test_ice_servers_come_from_the_environment(
    streamer_calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMOTION_ICE_SERVERS", '[{"urls": ["stun:stun.example.org:3478"]}]')
    open_webcam_page()

    assert streamer_calls[0]["rtc_configuration"] == {"iceServers": [{"urls": ["stun:stun.example.org:3478"]}]}


def test_bad_ice_servers_are_reported(streamer_calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOTION_ICE_SERVERS", "stun:oops")
    app = open_webcam_page()

    assert "EMOTION_ICE_SERVERS is not valid JSON" in app.error[0].value
    assert streamer_calls == []


def test_after_stop_the_recording_is_summarised_and_offered_as_csv(
    streamer_calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from emotion_core.live.recording import Recording
    from emotion_core.live.webcam import LiveFace, LiveResult, StageTimes

    monkeypatch.delenv("EMOTION_ICE_SERVERS", raising=False)
    recording = Recording(["happy", "sad"])
    faces = (LiveFace((0, 0, 9, 9), "happy", 0.8, {"happy": 0.8, "sad": 0.2}, 1),)
    recording.add(
        [LiveResult(10.0, 30.0, faces, StageTimes(0, 0, 0)), LiveResult(10.5, 30.0, faces, StageTimes(0, 0, 0))]
    )
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/webcam.py")
    app.session_state["live_recording"] = recording
    app.run()

    assert not app.exception
    (summary,) = app.dataframe
    assert summary.value.to_dict("records") == [
        {"person": "Person 1", "frames": 2, "seen_s": 0.5, "happy": 1.0, "sad": 0.0}
    ]
    (button,) = app.get("download_button")
    assert button.label == "Save recording"

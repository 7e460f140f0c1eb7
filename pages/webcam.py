"""Live webcam: the browser streams frames over WebRTC to a LiveProcessor; this script polls its results.

Every record polled while the stream plays also goes into a Recording, offered as a CSV after STOP.
"""

from __future__ import annotations

from dashboard.streamlit_compat import route_through_app

route_through_app()  # first, before the imports below: a deep link opened first must not wait for them

import json
import os
import time
from collections.abc import Callable

import altair as alt
import av
import pandas as pd
import streamlit as st
from streamlit_webrtc import webrtc_streamer

from dashboard.common import load_predictor, model_errors, model_picker
from emotion_core.classify.tflite import live_model
from emotion_core.live.recording import Recording
from emotion_core.live.tracking import TrackerConfig
from emotion_core.live.webcam import EmotionHistory, LiveConfig, LiveProcessor, LiveResult
from emotion_core.vision.draw import chart_colours

ICE_ENV = "EMOTION_ICE_SERVERS"
POLL_S = 0.5  # how often the page redraws labels and chart; the video itself is not slowed by it
RECORDING_KEY = "live_recording"
STREAMING_KEY = "live_streaming"  # True while this session's stream plays: a START after STOP is a new recording


def ice_servers() -> list[dict]:
    """ICE servers from $EMOTION_ICE_SERVERS (a JSON list of RTCIceServer), none by default.

    None is right on localhost and a LAN, and works offline. An unset list would make streamlit-webrtc
    fall back to a public STUN server, which costs seconds per connection where it is unreachable.
    Remote viewers behind NAT need a STUN/TURN server, e.g. '[{"urls": ["stun:stun.example.org:3478"]}]'.
    """
    raw = os.environ.get(ICE_ENV, "").strip()
    if not raw:
        return []
    try:
        servers = json.loads(raw)
    except json.JSONDecodeError as error:
        st.error(f'${ICE_ENV} is not valid JSON ({error}); expected a list like [{{"urls": ["stun:host:3478"]}}]')
        st.stop()
    if not isinstance(servers, list):
        st.error(f"${ICE_ENV} must be a JSON list of ICE servers, not {type(servers).__name__}")
        st.stop()
    return servers


def session_processor(model_name: str, config: LiveConfig) -> LiveProcessor:
    """This viewer's processor (smoothing state is per viewer), rebuilt when the model or settings change.

    The Predictor inside is the shared cached one; it serialises model calls across sessions itself.
    """
    key = (model_name, config)
    held = st.session_state.get("live_processor")
    if held is None or held[0] != key:
        with model_errors(model_name):
            live = live_model(model_name)  # resolves the name: an unknown one is a ModelNotFoundError
        predictor = load_predictor(live)
        held = (key, LiveProcessor(predictor, config))
        st.session_state["live_processor"] = held
    return held[1]


def frame_callback(processor: LiveProcessor) -> Callable[[av.VideoFrame], av.VideoFrame]:
    """The per-frame function streamlit-webrtc calls on its own worker thread: it only computes, no st.*."""

    def annotate(frame: av.VideoFrame) -> av.VideoFrame:
        image = frame.to_ndarray(format="bgr24")  # BGR: the channel order OpenCV and emotion_core use
        return av.VideoFrame.from_ndarray(processor.process(image), format="bgr24")

    return annotate


def face_lines(result: LiveResult) -> str:
    """'Person 2: happy 81 %' per face, largest first, as on the stream (the browser test looks for this text)."""
    if not result.faces:
        return "No face in view"
    return "  \n".join(face.label for face in result.faces)


def emotion_chart(history: EmotionHistory, labels: list[str]) -> alt.Chart | alt.FacetChart:
    """Each person's smoothed probabilities over the last minute: a row per person, a line per emotion."""
    data = pd.DataFrame(history.long_rows(), columns=["seconds", "person", "emotion", "probability"])
    colours = chart_colours(labels)
    chart = (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=alt.X("seconds:Q", title="seconds ago", scale=alt.Scale(domain=[-history.window_s, 0])),
            y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("emotion:N", scale=alt.Scale(domain=labels, range=colours)),
        )
        .properties(height=260 if data.empty else 140)
    )
    return chart if data.empty else chart.facet(row=alt.Row("person:N", title=None))


def new_recording(processor: LiveProcessor) -> Recording:
    """A fresh recording for a stream that just started; its people are numbered from 1 again."""
    processor.reset()
    recording = Recording(processor.predictor.labels)
    st.session_state[RECORDING_KEY] = recording
    st.session_state[STREAMING_KEY] = True
    return recording


def show_recording(recording: Recording | None) -> None:
    """After STOP: the per-person share of time per emotion, and the whole stream as a CSV download."""
    if recording is None or not len(recording):
        return
    st.subheader("Recording")
    st.caption(f"{len(recording)} row(s): one per person per frame. Share of each person's time in view per emotion:")
    if recording.skipped:
        st.warning(f"The recording was full: the last {recording.skipped} row(s) were not kept.")
    summary = pd.DataFrame([person.to_row() for person in recording.summary()])
    percent = {label: st.column_config.NumberColumn(format="percent") for label in recording.labels}
    st.dataframe(summary, hide_index=True, column_config=percent)
    st.download_button("Save recording", recording.to_csv(), "webcam_recording.csv", "text/csv", on_click="ignore")


st.title("Live webcam")
model_name = model_picker()
with st.sidebar.expander("Live settings"):
    detect_every = st.slider(
        "Detect faces every N frames",
        1,
        10,
        LiveConfig.detect_every,
        help="Boxes are reused in between; 1 is steadiest on moving faces, higher is faster",
    )
    smoothing = st.slider(
        "Weight of the newest frame",
        0.05,
        1.0,
        TrackerConfig.smoothing,
        0.05,
        help="Lower keeps labels steadier but slower to follow; 1 turns smoothing off",
    )
processor = session_processor(
    model_name, LiveConfig(detect_every=detect_every, tracker=TrackerConfig(smoothing=smoothing))
)
history: EmotionHistory = st.session_state.setdefault("live_history", EmotionHistory())

video_col, status_col = st.columns([3, 2])
with video_col:
    ctx = webrtc_streamer(
        key="emotion-webcam",
        video_frame_callback=frame_callback(processor),
        rtc_configuration={"iceServers": ice_servers()},
        media_stream_constraints={"video": True, "audio": False},
    )
with status_col:
    status = st.empty()
    fps_slot = st.empty()
chart_slot = st.empty()
labels = processor.predictor.labels

if not ctx.state.playing:
    st.session_state[STREAMING_KEY] = False
    status.info("Press START and allow the camera. Frames are processed on this server; only this page keeps a record.")
    chart_slot.altair_chart(emotion_chart(history, labels), width="stretch")
    show_recording(st.session_state.get(RECORDING_KEY))
else:
    status.info("Waiting for the first frame…")
    recording = st.session_state.get(RECORDING_KEY)
    if not st.session_state.get(STREAMING_KEY) or recording is None:
        recording = new_recording(processor)
        history = st.session_state["live_history"] = EmotionHistory()  # the new stream's Person 1 is someone else
    # Poll until Streamlit reruns or stops this script (STOP, a widget change, leaving the page).
    while True:
        results = processor.drain()
        history.add(results)
        recording.add(results)
        if results:
            status.markdown(face_lines(results[-1]))
            fps_slot.metric("Frames/s", f"{results[-1].fps:.1f}")
        chart_slot.altair_chart(emotion_chart(history, labels), width="stretch")
        time.sleep(POLL_S)

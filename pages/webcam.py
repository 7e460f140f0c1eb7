"""Live webcam: the browser streams frames over WebRTC to a LiveProcessor; this script polls its results."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import altair as alt
import av
import pandas as pd
import streamlit as st
from streamlit_webrtc import webrtc_streamer

from dashboard.common import enter_through_app, load_predictor, model_errors, model_picker
from emotion_core.draw import COLOURS
from emotion_core.live import EmotionHistory, LiveConfig, LiveProcessor, LiveResult
from emotion_core.tflite import live_model

ICE_ENV = "EMOTION_ICE_SERVERS"
POLL_S = 0.5  # how often the page redraws labels and chart; the video itself is not slowed by it


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
    """'Face 1: happy 87%' per face, largest first (the browser test looks for this text)."""
    if not result.faces:
        return "No face in view"
    return "  \n".join(f"Face {i}: {f.emotion} {f.confidence:.0%}" for i, f in enumerate(result.faces, 1))


def emotion_chart(history: EmotionHistory, labels: list[str]) -> alt.Chart:
    """Face 1's smoothed probabilities over the last minute, one line per emotion in its box colour."""
    data = pd.DataFrame(history.long_rows(), columns=["seconds", "emotion", "probability"])
    # COLOURS are BGR for OpenCV; the chart wants RGB hex.
    colours = [f"#{r:02x}{g:02x}{b:02x}" for b, g, r in (COLOURS.get(e, (128, 128, 128)) for e in labels)]
    return (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=alt.X("seconds:Q", title="seconds ago", scale=alt.Scale(domain=[-history.window_s, 0])),
            y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("emotion:N", scale=alt.Scale(domain=labels, range=colours)),
        )
        .properties(height=260)
    )


enter_through_app()
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
        LiveConfig.smoothing,
        0.05,
        help="Lower keeps labels steadier but slower to follow; 1 turns smoothing off",
    )
processor = session_processor(model_name, LiveConfig(detect_every=detect_every, smoothing=smoothing))
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
    status.info("Press START and allow the camera. Frames are processed on this server, not stored.")
    chart_slot.altair_chart(emotion_chart(history, labels), width="stretch")
else:
    status.info("Waiting for the first frame…")
    # Poll until Streamlit reruns or stops this script (STOP, a widget change, leaving the page).
    while True:
        results = processor.drain()
        history.add(results)
        if results:
            status.markdown(face_lines(results[-1]))
            fps_slot.metric("Frames/s", f"{results[-1].fps:.1f}")
        chart_slot.altair_chart(emotion_chart(history, labels), width="stretch")
        time.sleep(POLL_S)

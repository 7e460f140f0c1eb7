"""Entry point: app-wide set-up and navigation. Pages live in pages/ and hold UI only."""

import logging

import streamlit as st

# aiortc's SRTP library (pylibsrtp) segfaults when it is first loaded after TensorFlow, which any page may load
# first; importing the webcam page's WebRTC stack here, before any page runs, keeps the server alive.
import streamlit_webrtc  # noqa: F401

st.set_page_config(page_title="Emotion detection", page_icon="🙂", layout="wide")
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Home / model", icon="🏠", default=True),
        st.Page("pages/photo.py", title="Photo", icon="🖼️"),
        st.Page("pages/webcam.py", title="Live webcam", icon="🎥"),
        st.Page("pages/video.py", title="Video file", icon="🎞️"),
        st.Page("pages/dataset.py", title="Dataset explorer", icon="🗂️"),
        st.Page("pages/train.py", title="Train", icon="🏋️"),
        st.Page("pages/evaluate.py", title="Evaluate", icon="📊"),
        st.Page("pages/models.py", title="Models", icon="🗃️"),
    ]
)
navigation.run()

"""Entry point: app-wide set-up and navigation. Pages live in pages/ and hold UI only."""

import logging

import streamlit as st

# aiortc's SRTP library (pylibsrtp) segfaults when it is first loaded after TensorFlow, which any page may load
# first; importing the webcam page's WebRTC stack here, before any page runs, keeps the server alive.
import streamlit_webrtc  # noqa: F401

from emotion_core.settings import quiet_tensorflow

quiet_tensorflow()  # before any page imports TensorFlow
st.set_page_config(page_title="Emotion detection", page_icon=":material/mood:", layout="wide")
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

# Material icons ship with Streamlit, so they render offline and without an emoji font.
navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Home / model", icon=":material/home:", default=True),
        st.Page("pages/photo.py", title="Photo", icon=":material/photo_camera:"),
        st.Page("pages/webcam.py", title="Live webcam", icon=":material/videocam:"),
        st.Page("pages/video.py", title="Video file", icon=":material/movie:"),
        st.Page("pages/dataset.py", title="Dataset explorer", icon=":material/folder_open:"),
        st.Page("pages/batch.py", title="Batch", icon=":material/dynamic_feed:"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
        st.Page("pages/models.py", title="Models", icon=":material/inventory_2:"),
    ]
)
navigation.run()

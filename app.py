"""Entry point: app-wide set-up and navigation. Pages live in pages/ and hold UI only; their helpers in dashboard/."""

# First import, before anything can load TensorFlow: the webcam page's SRTP library crashes the server
# process when it loads after TensorFlow (a BoringSSL/OpenSSL symbol clash; see the module).
import dashboard.load_order  # noqa: F401, I001

import logging

import streamlit as st

from emotion_core.settings import apply_process_defaults

apply_process_defaults()  # before any page imports TensorFlow
st.set_page_config(page_title="Emotion detection", page_icon=":material/mood:", layout="wide")
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

# One line per page. Every page's first statement is dashboard.common.enter_through_app(), which makes a deep
# link opened first after a restart run through this file too (pages/ would otherwise be routed by file name).
# Material icons ship with Streamlit, so they render offline and without an emoji font.
PAGES = [
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
st.navigation(PAGES).run()

"""Entry point: app-wide set-up and navigation. Pages live in pages/ and hold UI only; their helpers in dashboard/."""

# First import, before anything can load TensorFlow: the webcam page's SRTP library crashes the server
# process when it loads after TensorFlow (a BoringSSL/OpenSSL symbol clash; see the module).
import dashboard.load_order  # noqa: F401, I001
from dashboard.streamlit_compat import route_through_app

route_through_app()  # a first visit to / after a start also runs this file in Streamlit's legacy pages/ mode

import logging

import streamlit as st

from dashboard.auth import login_sidebar
from dashboard.navigation import PAGES
from emotion_core.settings import apply_process_defaults

apply_process_defaults()  # before any page imports TensorFlow
st.set_page_config(page_title="Emotion detection", page_icon=":material/mood:", layout="wide")
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

# The page list lives in dashboard.navigation (the Home page lists it too). Every page's first statement is
# dashboard.streamlit_compat.route_through_app(), which makes a deep link opened first after a start run through
# this file too (Streamlit would otherwise route the pages/ folder by file name).
navigation = st.navigation([st.Page(p.path, title=p.title, icon=p.icon, default=p.default) for p in PAGES])
login_sidebar()  # viewer mode's reason, or the admin login, under the navigation on every page
navigation.run()

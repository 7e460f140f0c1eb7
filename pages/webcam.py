import streamlit as st

st.title("webcam")
st.info("Coming soon.")

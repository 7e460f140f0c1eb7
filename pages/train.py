import streamlit as st

st.title("train")
st.info("Coming soon.")

import streamlit as st

st.title("photo")
st.info("Coming soon.")

"""What every page shares: the model picker and the cached Predictor. UI glue only."""

from __future__ import annotations

import streamlit as st

from emotion_core.predict import Predictor
from emotion_core.registry import DEFAULT_NAME, list_models

MODEL_KEY = "model_name"


@st.cache_resource(max_entries=4, show_spinner="Loading model…")
def get_predictor(model_name: str) -> Predictor:
    """One warm Predictor per model, shared by all sessions (it serialises model calls itself).

    max_entries bounds memory when users switch between many trained models.
    """
    return Predictor.load(model_name)


def model_picker() -> str:
    """Sidebar select box over the shipped model and every finished run; the choice persists across pages."""
    names = list(list_models())
    current = st.session_state.get(MODEL_KEY, DEFAULT_NAME)
    if current not in names:
        current = DEFAULT_NAME
    choice = st.sidebar.selectbox("Model", names, index=names.index(current), help="Shipped default or a trained run")
    st.session_state[MODEL_KEY] = choice
    return choice

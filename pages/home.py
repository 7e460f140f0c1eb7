"""Home: what the app does and which model is active, described from its own metadata."""

from dashboard.streamlit_compat import route_through_app

route_through_app()  # first, before the imports below: a deep link opened first must not wait for them

import pandas as pd
import streamlit as st

from dashboard.common import model_errors, model_picker
from emotion_core.classify.registry import model_summaries, read_card
from emotion_core.data.evaluate import per_class_frame

model_name = model_picker()

st.title("Facial emotion recognition")
st.markdown(
    """
Finds faces in photos or a live webcam stream and says which of seven emotions each one shows:
angry, disgust, fear, happy, sad, surprise, neutral.

- **Photo**: upload photos or take a snapshot; boxes, labels and probabilities per face, downloadable as CSV/JSON.
- **Live webcam**: the same, frame by frame in the browser.
- **Video file**: emotions over time in a clip, the dominant one per segment, an annotated copy to download.
- **Dataset explorer**: class balance and sample faces of a dataset (FER2013 layout, zip, folder or CSV).
- **Train**: train a model in the background and watch its curves; finished runs join the model picker.
- **Evaluate**: accuracy, per-class precision/recall/F1, confusion matrix and the most confident mistakes.
- **Models**: every model with its size and accuracy; rename, delete, and compare models class by class.

The model picker in the sidebar applies to every page.
"""
)

st.header(f"Active model: {model_name}")
with model_errors(model_name):
    card = read_card(model_name)

metrics, training = card.metrics, card.training
left, middle, right = st.columns(3)
left.metric(
    "Accuracy",
    f"{metrics['accuracy']:.1%}" if "accuracy" in metrics else "not measured",
    help=f"on {metrics.get('n', '?')} held-out images" if metrics else None,
)
middle.metric("Architecture", card.architecture)
right.metric("Trained on", f"{training.get('train_images', '?')} images", help=training.get("data"))

st.write("**Labels**, in output order:", ", ".join(card.labels))
st.caption(
    f"Input {card.input_size}×{card.input_size} grey, crop {card.preprocess}, test-time views {card.views.count}"
    + (", prior-corrected scores" if card.class_weights else "")
    + f"; created {card.created or 'unknown'}."
)

if metrics.get("per_class"):
    st.subheader("Per-class results")
    st.dataframe(
        per_class_frame(metrics),
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("precision", "recall", "f1")},
    )

st.subheader("All models")
st.dataframe(pd.DataFrame(model_summaries()), hide_index=True)

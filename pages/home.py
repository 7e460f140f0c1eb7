"""Home: what the app does, page by page (from app.py's page list), and the active model's card in words."""

from dashboard.streamlit_compat import route_through_app

route_through_app()  # first, before the imports below: a deep link opened first must not wait for them

import pandas as pd
import streamlit as st

from dashboard.common import model_errors, model_picker
from dashboard.navigation import PAGES
from emotion_core.classify.describe import describe_card
from emotion_core.classify.registry import model_summaries, read_card
from emotion_core.data.evaluate import per_class_frame

model_name = model_picker()

st.title("Facial emotion recognition")
st.markdown(
    "Finds faces in photos or a live webcam stream and says which of seven emotions each one shows: "
    "angry, disgust, fear, happy, sad, surprise, neutral."
)
st.markdown("\n".join(f"- **{page.title}**: {page.summary}." for page in PAGES if not page.default))
st.caption("The model picker in the sidebar applies to every page.")

st.header(f"Active model: {model_name}")
with model_errors(model_name):
    card = read_card(model_name)
words = describe_card(card)

metrics, training = card.metrics, card.training
left, middle, right = st.columns(3)
left.metric(
    "Accuracy",
    f"{metrics['accuracy']:.1%}" if "accuracy" in metrics else "not measured",
    help=f"on {metrics.get('n', '?')} held-out images" if metrics else None,
)
middle.metric("Architecture", card.architecture)
images = training.get("train_images")
right.metric("Trained on", f"{images:,} images" if isinstance(images, int) else "not recorded")

st.markdown(
    f"""
**What it is.** {words.architecture}

**What it learned from.** {words.training}

**What it tells apart.** {words.classes}

**How well it does.** {" ".join(words.accuracy)}

**What it sees.** {words.preprocessing}

**How it answers.** {words.answers}
"""
)
st.caption(f"Created {card.created or 'on an unrecorded date'}.")

if metrics.get("per_class"):
    st.subheader("Per-class results")
    st.dataframe(
        per_class_frame(metrics),
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("precision", "recall", "f1")},
    )

st.subheader("All models")
st.dataframe(
    pd.DataFrame(model_summaries()),
    hide_index=True,
    column_config={"accuracy": st.column_config.NumberColumn(format="percent"), "size_mb": "size (MB)"},
)

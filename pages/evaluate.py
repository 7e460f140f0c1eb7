"""Evaluate: score the chosen model on a dataset split; per-class metrics, confusion matrix, confident mistakes."""

from dashboard.streamlit_compat import route_through_app

route_through_app()  # first, before the imports below: a deep link opened first must not wait for them

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.common import data_picker, dataset_or_stop, evaluation_or_error, faces_picker, model_picker, show_error
from emotion_core.classify.registry import model_version
from emotion_core.data.evaluate import confusion_frame, per_class_frame
from emotion_core.data.summary import data_version
from emotion_core.errors import EmotionCoreError
from emotion_core.paths import SAMPLE_DATA


def confusion_chart(frame: pd.DataFrame) -> alt.Chart:
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", sort=None, title="predicted"),
        y=alt.Y("true:N", sort=None, title="true"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("share:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), title="share of row"),
        tooltip=["true", "predicted", "count", alt.Tooltip("share:Q", format=".1%")],
    )
    text = base.mark_text().encode(
        text="count:Q",
        color=alt.condition(alt.datum.share > 0.5, alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(height=360)


model_name = model_picker()
st.title("Evaluate")
path = data_picker()
dataset = dataset_or_stop(path)

if dataset.source.resolve() == SAMPLE_DATA.resolve():
    st.warning(
        "The bundled sample is drawn from FER2013's *training* split, which a FER2013-trained model has seen: "
        "its score here is optimistic. Point the path at full FER2013 and pick its test split for a fair figure."
    )
splits = dataset.splits
split_column, faces_column = st.columns(2)
split = split_column.selectbox("Split", splits, index=splits.index("test") if "test" in splits else 0)
with faces_column:
    faces = faces_picker()
key = (model_name, model_version(model_name), path, data_version(path), split, faces)
if st.button(f"Evaluate '{model_name}' on {split}", type="primary"):
    st.session_state.evaluated = key
if st.session_state.get("evaluated") != key:
    st.info(f"{len(dataset.split_samples(split)):,} images in {split}. Every one is decoded and classified.")
    st.stop()

try:
    with st.spinner(f"Classifying {split}…", show_time=True):
        report, mistakes = evaluation_or_error(model_name, path, split, faces)
except (EmotionCoreError, ValueError, OSError) as error:
    show_error(error, "Cannot evaluate: ")
    st.stop()

accuracy, count, skipped, no_face = st.columns(4)
accuracy.metric("Accuracy", f"{report['accuracy']:.1%}")
count.metric("Images", f"{report['n']:,}")
skipped.metric("Skipped", len(report["skipped"]["unreadable"]), help="unreadable files")
no_face.metric("No face", len(report["faces"]["no_face"]), help="photos where no face was found: scored as wrong")
st.caption(f"Faces: {report['faces']['mode']} ({report['faces']['chosen']})")
if report["faces"]["no_face"]:
    with st.expander(f"{len(report['faces']['no_face'])} photos without a face (each counted as a wrong answer)"):
        st.dataframe(pd.DataFrame({"file": report["faces"]["no_face"]}), hide_index=True)
if report["skipped"]["unknown_classes"]:
    st.warning(f"Classes the model does not know were left out: {', '.join(report['skipped']['unknown_classes'])}")

st.subheader("Per class")
st.dataframe(
    per_class_frame(report),
    column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("precision", "recall", "f1")},
)

st.subheader("Confusion matrix")
st.altair_chart(confusion_chart(confusion_frame(report)), key="confusion")

st.subheader("Most confident mistakes")
if mistakes:
    st.image(
        [m.face for m in mistakes], caption=[f"{m.true} → {m.predicted} {m.confidence:.0%}" for m in mistakes], width=96
    )
    with st.expander("Files"):
        st.dataframe(
            pd.DataFrame(
                [(m.ref, m.true, m.predicted, m.confidence) for m in mistakes],
                columns=["file", "true", "predicted", "confidence"],
            ),
            hide_index=True,
        )
else:
    st.success("No mistakes.")

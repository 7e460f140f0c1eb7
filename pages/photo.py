"""Photo: upload photos (or take a snapshot); every face boxed and labelled, with its probabilities."""

from dashboard.streamlit_compat import route_through_app

route_through_app()  # first, before the imports below: a deep link opened first must not wait for them

import altair as alt
import numpy as np
import streamlit as st

from dashboard.common import load_predictor, model_picker
from emotion_core.classify.explain import explain_faces
from emotion_core.classify.predictor import Predictor
from emotion_core.classify.registry import model_version
from emotion_core.errors import UploadLimitError
from emotion_core.formats import IMAGE_SUFFIXES, upload_types
from emotion_core.limits import PhotoLimits
from emotion_core.records import Face
from emotion_core.serve.photos import PhotoResult, analyse_photo, face_scores, results_csv, results_json
from emotion_core.vision.decode import declared_pixels, decode_image

IMAGE_TYPES = upload_types(IMAGE_SUFFIXES)


@st.cache_data(max_entries=64, show_spinner=False)
def analyse(model_name: str, version: float, name: str, data: bytes, _predictor: Predictor) -> PhotoResult:
    """Cached per (model, file): a download click or another upload does not redo earlier photos."""
    return analyse_photo(_predictor, name, data)


@st.cache_data(max_entries=64, show_spinner="Explaining…")
def explain(model_name: str, version: float, name: str, data: bytes, _predictor: Predictor) -> list[np.ndarray]:
    """Grad-CAM overlays (BGR) for the faces ``analyse`` found, cached the same way: the toggle is free to flip."""
    faces = analyse(model_name, version, name, data, _predictor).faces
    return explain_faces(_predictor, decode_image(data), faces) if faces else []


def probability_chart(face: Face) -> alt.Chart:
    return (
        alt.Chart(face_scores(face))
        .mark_bar()
        .encode(
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            y=alt.Y("emotion:N", sort=None, title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.condition(alt.datum.emotion == face.emotion, alt.value("#f58518"), alt.value("#4c78a8")),
            tooltip=["emotion", alt.Tooltip("probability:Q", format=".1%")],
        )
        .properties(height=210)
    )


def show_result(position: int, result: PhotoResult, overlays: list[np.ndarray] | None = None) -> None:
    if result.error is not None:
        st.error(f"`{result.name}`: {result.error}")
        return
    with st.container(border=True):
        picture, details = st.columns([3, 2])
        # The core works in OpenCV's BGR order; st.image expects RGB.
        picture.image(result.annotated[:, :, ::-1], caption=result.name)
        if not result.faces:
            details.warning("No face found. Faces should be frontal and at least ~8% of the picture's shorter side.")
        for index, face in enumerate(result.faces, start=1):
            details.markdown(f"**Face {index}: {face.emotion} {face.confidence:.0%}**")
            chart_slot = details
            if overlays:
                chart_slot, heat = details.columns([3, 1], vertical_alignment="center")
                heat.image(overlays[index - 1][:, :, ::-1], caption="Grad-CAM", width="stretch")
            chart_slot.altair_chart(probability_chart(face), key=f"chart-{position}-{index}")
            details.dataframe(face_scores(face).style.format({"probability": "{:.1%}"}), hide_index=True)


model_name = model_picker()
st.title("Photo")
st.caption("Upload one or more photos, or take a snapshot. Files are read by their content, whatever their extension.")

uploads = st.file_uploader("Photos", type=IMAGE_TYPES, accept_multiple_files=True)
snapshot = st.camera_input("Snapshot") if st.toggle("Use the camera") else None
explaining = st.toggle("Explain (Grad-CAM)", help="Where the model looked for each face's emotion (red most)")
files = [(upload.name, upload.getvalue()) for upload in uploads or []]
if snapshot is not None:
    files.append(("snapshot.jpg", snapshot.getvalue()))
if not files:
    st.info("Add a photo to begin.")
    st.stop()
try:  # from the headers alone, before any decoding: a small PNG may declare 40 megapixels
    PhotoLimits().check([declared_pixels(data) for _name, data in files])
except UploadLimitError as error:
    st.error(str(error))
    st.stop()

predictor = load_predictor(model_name)
version = model_version(model_name)

with st.spinner(f"Looking for faces in {len(files)} photo(s)…"):
    results = [analyse(model_name, version, name, data, predictor) for name, data in files]

found = sum(len(r.faces) for r in results)
failed = sum(r.error is not None for r in results)
st.write(f"{len(results)} photo(s), {found} face(s)" + (f", {failed} unreadable" if failed else ""))
csv_column, json_column = st.columns(2)
csv_column.download_button("Download CSV", results_csv(results), "emotions.csv", "text/csv", on_click="ignore")
json_column.download_button(
    "Download JSON", results_json(results), "emotions.json", "application/json", on_click="ignore"
)

for position, (result, (name, data)) in enumerate(zip(results, files, strict=True)):
    overlays = explain(model_name, version, name, data, predictor) if explaining and result.faces else None
    show_result(position, result, overlays)

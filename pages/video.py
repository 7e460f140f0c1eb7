"""Video file: upload a clip; emotions over time, the dominant one per segment, CSV and annotated-video downloads."""

from __future__ import annotations

from dashboard.streamlit_compat import route_through_app

route_through_app()  # first, before the imports below: a deep link opened first must not wait for them

import shutil
import tempfile
import uuid
from contextlib import closing
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from dashboard.common import load_predictor, model_picker, show_error
from emotion_core.classify.predictor import Predictor
from emotion_core.errors import EmotionCoreError
from emotion_core.formats import VIDEO_SUFFIXES, upload_types
from emotion_core.limits import VideoLimits
from emotion_core.live.video import SegmentSummary, analyse_video, probe, results_csv, timeline_rows
from emotion_core.vision.draw import chart_colours

VIDEO_TYPES = upload_types(VIDEO_SUFFIXES)
RESULT_KEY = "video_result"


def work_dir() -> Path:
    """This session's scratch folder; TemporaryDirectory deletes it when the session (and its state) is gone."""
    held = st.session_state.setdefault("video_tmp", tempfile.TemporaryDirectory(prefix="emotion-video-"))
    return Path(held.name)


def save_upload(upload: UploadedFile) -> Path:
    """Copy the upload under a generated name: the user's file name never reaches the file system.

    The extension is kept (from the allowed list only) because FFmpeg's probe uses it as a hint.
    """
    suffix = Path(upload.name).suffix.lower().lstrip(".")
    target = work_dir() / f"{uuid.uuid4().hex}.{suffix if suffix in VIDEO_TYPES else 'mp4'}"
    with target.open("wb") as file:
        shutil.copyfileobj(upload, file)
    return target


def analyse(predictor: Predictor, upload: UploadedFile, every: int, annotate: bool, key: tuple) -> None:
    """Run the clip through the model with a progress bar, keeping results in session state as they come.

    A click on Cancel reruns the script, which interrupts it at the next progress update; ``closing``
    then closes the generator, which releases the clip and finishes the annotated file.
    """
    previous = st.session_state.pop(RESULT_KEY, None)
    if previous is not None and previous["annotated"] is not None:
        previous["annotated"].unlink(missing_ok=True)
    clip = save_upload(upload)
    try:
        info, limits = probe(clip), VideoLimits()
        limits.check(info.frames, info.fps)  # from the header, before decoding a frame
        annotated = work_dir() / f"{uuid.uuid4().hex}-annotated.mp4" if annotate else None
        held = {"key": key, "results": [], "annotated": annotated, "labels": predictor.labels, "complete": False}
        st.session_state[RESULT_KEY] = held
        bar = st.progress(0.0, text=f"{info.frames} frames, {info.duration_s:.0f} s at {info.fps:.0f} frames/s")
        cancel = st.empty()
        cancel.button("Cancel")  # its click alone does the work: the rerun it starts stops this one (see above)

        def show(done: int, total: int) -> None:
            bar.progress(min(1.0, done / total) if total else 0.0, text=f"Frame {done} of {total or '?'}")

        with closing(analyse_video(predictor, clip, every, annotated, progress=show)) as frames:
            for result in frames:
                if result.index >= limits.max_frames:  # a header without a frame count: the cap still holds
                    break
                held["results"].append(result)
            else:
                held["complete"] = True
        bar.empty()
        cancel.empty()
    finally:
        clip.unlink(missing_ok=True)


def emotion_chart(data: pd.DataFrame, labels: list[str]) -> alt.FacetChart:
    """Each person's probabilities per analysed frame, one line per emotion in its box colour, a row per person."""
    colours = chart_colours(labels)
    return (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=alt.X("time_s:Q", title="seconds"),
            y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            color=alt.Color("emotion:N", scale=alt.Scale(domain=labels, range=colours)),
            tooltip=[
                "person",
                "emotion",
                alt.Tooltip("time_s:Q", format=".1f"),
                alt.Tooltip("probability:Q", format=".1%"),
            ],
        )
        .properties(height=160)
        .facet(row=alt.Row("person:N", title=None, sort=alt.SortField("person")))
    )


def show_results(held: dict, segment_s: float) -> None:
    results, labels = held["results"], held["labels"]
    if not held["complete"]:
        st.warning(f"Stopped early: results for the first {len(results)} analysed frame(s) only.")
    faces = sum(len(r.faces) for r in results)
    people = len({person for r in results for person in r.people})
    st.write(f"{len(results)} frame(s) analysed, {faces} face(s) found")
    if people:
        st.caption(f"{people} person(s) tracked: the CSV's `person` column and the chart rows follow each one.")
    if not faces:
        st.info("No face found. Faces should be frontal and at least ~8% of the frame's shorter side.")
    timeline = pd.DataFrame(timeline_rows(results, labels), columns=["time_s", "person", "emotion", "probability"])
    st.altair_chart(emotion_chart(timeline, labels))

    summary = SegmentSummary(labels, segment_s)
    for result in results:
        summary.add(result)
    st.subheader(f"Dominant emotion per {segment_s:g} s")
    st.dataframe(pd.DataFrame(summary.rows()), hide_index=True)

    csv_column, video_column = st.columns(2)
    csv_column.download_button(
        "Download CSV", results_csv(results, labels), "video_emotions.csv", "text/csv", on_click="ignore"
    )
    annotated: Path | None = held["annotated"]
    if annotated is not None and annotated.is_file():
        # Read on click only: the file can be hundreds of MB.
        video_column.download_button(
            "Download annotated video", annotated.read_bytes, "annotated.mp4", "video/mp4", on_click="ignore"
        )


model_name = model_picker()
st.title("Video file")
st.caption("Upload a clip: faces and emotions on every Nth frame, over time and per segment. Read by content.")

upload = st.file_uploader("Video", type=VIDEO_TYPES)
settings = st.columns(3)
every = settings[0].number_input("Analyse every Nth frame", 1, 300, 5, help="1 is every frame; higher is faster")
segment_s = settings[1].number_input("Segment length (s)", 1.0, 600.0, 5.0, 1.0, help="for the dominant-emotion table")
annotate = settings[2].toggle("Annotated video", True, help="a copy with boxes and labels, to download")
if upload is None:
    st.info("Upload a video to begin.")
    st.stop()

key = (upload.file_id, model_name, every, annotate)
held = st.session_state.get(RESULT_KEY)
if st.button("Analyse", type="primary"):
    predictor = load_predictor(model_name)
    try:
        analyse(predictor, upload, every, annotate, key)
    except (EmotionCoreError, OSError, ValueError) as error:
        show_error(error, f"Cannot analyse `{upload.name}`: ")
        st.stop()
    held = st.session_state[RESULT_KEY]
if held is not None and held["key"] == key:
    show_results(held, segment_s)
elif held is not None:
    st.info("The video, model or settings changed: press Analyse for new results.")

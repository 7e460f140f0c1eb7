"""Batch: run a background job over a folder or an uploaded zip, watch it, then browse and download its rows."""

from dashboard.streamlit_compat import route_through_app

route_through_app()  # first, before the imports below: a deep link opened first must not wait for them

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.auth import current_actor
from dashboard.common import data_picker, model_picker, session_uploads, show_error
from emotion_core.errors import EmotionCoreError
from emotion_core.jobs import batch_jobs as jobs
from emotion_core.jobs.background import JobStatus

REFRESH_S = 2.0
PREVIEW_ROWS = 1000


def start_form(model: str) -> None:
    """Folder path or zip upload, every Nth video frame; starts the job on submit."""
    with st.form("batch"):
        source = st.radio("Input", ["Folder or zip path", "Upload a zip"], horizontal=True)
        folder = data_picker("Folder or zip path (images and videos, walked recursively)")
        upload = st.file_uploader("Zip of images", type=["zip"])
        every = st.number_input("Every Nth video frame", 1, 1000, 10)
        engine = st.radio(
            "Engine",
            ["local", "ray"],
            horizontal=True,
            help="local: threads on this machine. ray: a Ray cluster at $RAY_ADDRESS, else a local Ray "
            "(worth it with more than one machine; see the README).",
        )
        if not st.form_submit_button("Start batch job", type="primary"):
            return
    try:
        if source == "Upload a zip":
            if upload is None:
                st.error("Choose a zip to upload first.")
                return
            started = jobs.start_upload_job(upload.getvalue(), model, int(every), engine, actor=current_actor())
        else:
            own = session_uploads()
            started = jobs.start_folder_job(folder, model, int(every), engine, actor=current_actor(), own=own)
    except EmotionCoreError as error:
        show_error(error)
        return
    st.session_state.batch_job = started.name
    st.success(f"Started job '{started.name}'.")


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA soon"
    minutes, secs = divmod(int(seconds), 60)
    return f"ETA {minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"ETA {minutes}m {secs:02d}s"


def show_job(job_dir: str) -> None:
    """Progress while alive (the fragment reruns itself), then the results: another visitor's job shows its
    progress and status only."""
    job = jobs.job_status(job_dir)
    actor = current_actor()
    if not actor.owns(job.owner):
        st.progress(job.fraction, text=f"Another visitor's job: {job.status}, {job.fraction:.0%} done.")
    elif job.alive:
        st.progress(
            job.fraction,
            text=f"{job.status}: {job.done:,}/{job.total:,} images/frames · {job.rate:.1f} images/s · "
            f"{jobs.where(job)} · {job.faces:,} faces · {job.errors:,} errors · {format_eta(job.eta_s)}",
        )
        if st.button("Cancel job", key="cancel-job"):
            jobs.cancel_job(job.folder, actor)
            st.rerun()
    elif job.status == "finished":
        show_results(job)
    else:
        st.error(f"{job.name}: {job.status}")
        st.code(jobs.log_tail(job, actor) or "(no output)", language=None)
    if st.session_state.get("batch_alive") and not job.alive:
        st.session_state.batch_alive = False
        st.rerun()
    st.session_state.batch_alive = job.alive


def show_results(job: JobStatus) -> None:
    rows = jobs.results(job, current_actor())
    st.success(
        f"{job.name}: {job.done:,} images/frames, {job.faces:,} faces, {job.errors:,} errors; "
        f"{jobs.where(job)}, {job.rate:.1f} images/s."
    )
    counts = jobs.class_counts(rows)
    if len(counts):
        chart = (
            alt.Chart(counts)
            .mark_bar()
            .encode(x=alt.X("emotion:N", sort="-y"), y="faces:Q", tooltip=["emotion", "faces"])
        )
        st.altair_chart(chart.properties(title="Faces per emotion", height=260), key="batch-classes")
    st.dataframe(rows.head(PREVIEW_ROWS), hide_index=True)
    if len(rows) > PREVIEW_ROWS:
        st.caption(f"First {PREVIEW_ROWS:,} of {len(rows):,} rows; the downloads hold them all.")
    left, right = st.columns(2)
    left.download_button("Download CSV", csv_bytes(rows), f"{job.name}.csv", "text/csv")
    right.download_button(
        "Download parquet", rows.to_parquet(index=False), f"{job.name}.parquet", "application/octet-stream"
    )


def csv_bytes(rows: pd.DataFrame) -> bytes:
    return rows.to_csv(index=False).encode()


model = model_picker()
st.title("Batch")
st.caption(
    "One row per face over a whole folder, zip or set of videos. The job runs in the background (it continues if "
    "you leave this page, and when the dashboard stops: it is listed here again at the next start); one job per "
    "visitor. Its rows are yours: other visitors see only that it is busy. An uploaded zip is deleted when the job "
    "ends. From a shell: `python -m emotion_core batch INPUT... --out r.parquet`."
)
start_form(model)

listed = jobs.list_jobs()
if not listed:
    st.info("No batch jobs yet.")
    st.stop()
names = [job.name for job in listed]
chosen = st.session_state.get("batch_job") or names[0]
actor = current_actor()
statuses = {job.name: job.status + ("" if actor.owns(job.owner) else ", another visitor's") for job in listed}
name = st.selectbox(
    "Job", names, index=names.index(chosen) if chosen in names else 0, format_func=lambda n: f"{n} ({statuses[n]})"
)
st.session_state.batch_job = name
selected = next(job for job in listed if job.name == name)
st.fragment(show_job, run_every=REFRESH_S if selected.alive else None)(str(selected.folder))

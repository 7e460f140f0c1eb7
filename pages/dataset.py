"""Dataset explorer: class balance per split, sample faces per class (for photos, beside the crop detection makes),
and files that fail to decode or hold no face."""

from dashboard.streamlit_compat import route_through_app

route_through_app()  # first, before the imports below: a deep link opened first must not wait for them

import math

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.common import (
    data_picker,
    faces_picker,
    get_cropper,
    get_dataset,
    model_picker,
    open_dataset_checked,
    public_text,
    remember_upload,
    session_uploads,
    show_error,
)
from emotion_core.data.datasets import FaceChoice
from emotion_core.data.summary import (
    data_version,
    distribution,
    imbalance_ratios,
    sample_faces,
    sample_photos,
    scan_split,
    side_by_side,
)
from emotion_core.errors import EmotionCoreError
from emotion_core.paths import SAMPLE_DATA

GRID_SIZE = 24
PHOTO_GRID_SIZE = 8  # photo + crop pairs are wide, and each costs a detection (cached afterwards)


@st.cache_data(max_entries=16, show_spinner=False)
def class_counts(path: str, version: float) -> pd.DataFrame:
    """Images per class and split from the listing alone: no image is decoded."""
    return get_dataset(path, version).counts()


def distribution_chart(long: pd.DataFrame, split: str) -> alt.Chart:
    rows = long[long["split"] == split]
    bars = (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            x=alt.X("class:N", sort=None, title=None),
            y=alt.Y("images:Q"),
            color=alt.Color("class:N", sort=None, legend=None),
            tooltip=["class", "images"],
        )
    )
    return (bars + bars.mark_text(dy=-6).encode(text="images:Q", color=alt.value("gray"))).properties(
        title=split, height=260
    )


def choose_source() -> str:
    """A path typed in, or an uploaded zip saved under a generated name (never the uploader's file name)."""
    if st.radio("Open", ["Path", "Upload a zip"], horizontal=True, label_visibility="collapsed") == "Path":
        return data_picker()
    upload = st.file_uploader("Dataset zip (<split>/<class>/<image>)", type=["zip"])
    if upload is None:
        st.info("Upload a zip, or switch to Path for larger datasets (uploads are limited in size).")
        st.stop()
    try:
        path = str(session_uploads().put(upload.getvalue(), ".zip"))
    except EmotionCoreError as error:
        show_error(error)
        st.stop()
    remember_upload(path)
    return path


@st.cache_data(max_entries=16, show_spinner=False)
def face_choice(path: str, version: float, requested: str) -> FaceChoice:
    """crops or detect for this dataset; 'auto' decodes a small sample of images to decide."""
    return get_dataset(path, version).choose_faces(requested)


def show_unreadable(rows: list[tuple[str, str]], scanned: str) -> None:
    if rows:
        st.warning(f"{len(rows)} unreadable file(s) among {scanned}")
        shown = [(file, public_text(problem)) for file, problem in rows]
        st.dataframe(pd.DataFrame(shown, columns=["file", "problem"]), hide_index=True)
    else:
        st.success(f"No unreadable files among {scanned}.")


def show_no_face(files: list[str], several: list[tuple[str, int]], scanned: str) -> None:
    if files:
        st.warning(
            f"No face found in {len(files)} photo(s) among {scanned}: training leaves them out, evaluation "
            "scores them as wrong."
        )
        st.dataframe(pd.DataFrame({"file": files}), hide_index=True)
    else:
        st.success(f"A face was found in every photo among {scanned}.")
    if several:
        st.info(f"{len(several)} photo(s) hold several faces; the largest is used.")
        st.dataframe(pd.DataFrame(several, columns=["file", "faces"]), hide_index=True)


model_picker()
st.title("Dataset explorer")
with st.expander("Where to get FER2013"):
    st.markdown(
        f"""
The default dataset is a small sample committed with the app (`{SAMPLE_DATA.name}`, 350 faces from FER2013's
training split). For the full FER2013 (35,887 faces, 48×48 grey), download it from Kaggle: the folder layout
[msambare/fer2013](https://www.kaggle.com/datasets/msambare/fer2013) (a zip of `train/<class>/*.jpg` and
`test/<class>/*.jpg`) or the original challenge's `fer2013.csv`. Then either type its path in the box below, or
start the app with `EMOTION_DATA=/path/to/fer2013.zip streamlit run app.py` to make it the default on every page.
"""
    )

path = choose_source()
requested = faces_picker()
version = data_version(path)
try:
    dataset = open_dataset_checked(path)
    counts = class_counts(path, version)
    faces_mode = face_choice(path, version, requested)
except EmotionCoreError as error:
    show_error(error)
    st.stop()
detecting = faces_mode.mode == "detect"

st.caption(public_text(f"{dataset.kind} at `{dataset.source}` · faces: {faces_mode}"))
total, classes, splits = st.columns(3)
total.metric("Images", f"{int(counts.to_numpy().sum()):,}")
classes.metric("Classes", len(dataset.classes))
splits.metric("Splits", ", ".join(dataset.splits))
if dataset.rejected:  # malformed CSV rows, zip members with unsafe names: not in the counts below
    with st.expander(f"{len(dataset.rejected)} entries left out of the listing", icon="⚠️"):
        st.dataframe(pd.DataFrame(dataset.rejected, columns=["entry", "problem"]), hide_index=True)

st.subheader("Class distribution")
long = distribution(counts)
for column, split in zip(st.columns(len(dataset.splits)), dataset.splits, strict=True):
    column.altair_chart(distribution_chart(long, split), key=f"distribution-{split}")
ratios = imbalance_ratios(counts)
st.write(
    "**Imbalance** (largest class / smallest): "
    + ", ".join(f"{split} {'∞ (an empty class)' if math.isinf(r) else f'{r:.1f}×'}" for split, r in ratios.items())
)
st.dataframe(counts.assign(total=counts.sum(axis=1)))

st.subheader("Sample faces")
split_column, class_column, button_column = st.columns([2, 2, 1], vertical_alignment="bottom")
split = split_column.selectbox("Split", dataset.splits)
label = class_column.selectbox("Class", dataset.classes)
if button_column.button("Reshuffle") or "sample_seed" not in st.session_state:
    st.session_state.sample_seed = st.session_state.get("sample_seed", 0) + 1
if detecting:
    with st.spinner("Finding faces…"):
        photos, bad = sample_photos(dataset, split, label, PHOTO_GRID_SIZE, st.session_state.sample_seed, get_cropper())
    if photos:
        missing = sum(p.face is None for p in photos)
        st.caption(f"Each photo beside the crop the model is given. No face found in {missing} of {len(photos)}.")
        st.image([side_by_side(p) for p in photos], caption=[p.ref.rsplit("/", 1)[-1] for p in photos])
    else:
        st.info(f"No readable '{label}' photos in {split}.")
    shown = len(photos) + len(bad)
else:
    faces, bad = sample_faces(dataset, split, label, GRID_SIZE, st.session_state.sample_seed)
    if faces:
        st.image([face for _, face in faces], width=72)  # file names would not fit under 72-pixel faces
    else:
        st.info(f"No readable '{label}' faces in {split}.")
    shown = len(faces) + len(bad)

st.subheader("Unreadable files" + (" and photos without a face" if detecting else ""))
scans = st.session_state.setdefault("unreadable_scans", {})
scan_key = (path, version, split, faces_mode.mode)
action = "Detect faces in" if detecting else "Decode"
if st.button(f"{action} every image in {split} to find {'problems' if detecting else 'unreadable ones'}"):
    bar = st.progress(0.0, text="Decoding…")
    scans[scan_key] = scan_split(
        dataset,
        split,
        get_cropper() if detecting else None,
        lambda done, n: bar.progress(done / max(n, 1), text=f"Decoding {done:,}/{n:,}"),
    )
    bar.empty()
if scan_key in scans:
    scanned = f"all {int(counts[split].sum()):,} images of {split}"
    show_unreadable(scans[scan_key].unreadable, scanned)
    if detecting:
        show_no_face(scans[scan_key].no_face, scans[scan_key].several, scanned)
else:
    show_unreadable(bad, f"the {shown} {'photos' if detecting else 'faces'} shown")

"""Dataset explorer: class balance per split, sample faces per class, and files that fail to decode."""

import math

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.common import DATA_KEY, data_picker, enter_through_app, get_dataset, model_picker
from emotion_core.errors import EmotionCoreError
from emotion_core.explore import (
    SAMPLE_DATA,
    data_version,
    distribution,
    find_unreadable,
    imbalance_ratios,
    sample_faces,
    store_upload,
)

GRID_SIZE = 24


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
    path = str(store_upload(upload.getvalue(), ".zip"))
    st.session_state[DATA_KEY] = path
    return path


def show_unreadable(rows: list[tuple[str, str]], scanned: str) -> None:
    if rows:
        st.warning(f"{len(rows)} unreadable file(s) among {scanned}")
        st.dataframe(pd.DataFrame(rows, columns=["file", "problem"]), hide_index=True)
    else:
        st.success(f"No unreadable files among {scanned}.")


enter_through_app()
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
version = data_version(path)
try:
    dataset = get_dataset(path, version)
    counts = class_counts(path, version)
except EmotionCoreError as error:
    st.error(str(error))
    st.stop()

st.caption(f"{dataset.kind} at `{dataset.source}`")
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
faces, bad = sample_faces(dataset, split, label, GRID_SIZE, st.session_state.sample_seed)
if faces:
    st.image([face for _, face in faces], width=72)  # file names would not fit under 72-pixel faces
else:
    st.info(f"No readable '{label}' faces in {split}.")

st.subheader("Unreadable files")
scans = st.session_state.setdefault("unreadable_scans", {})
scan_key = (path, version, split)
if st.button(f"Decode every image in {split} to find unreadable ones"):
    bar = st.progress(0.0, text="Decoding…")
    scans[scan_key] = find_unreadable(
        dataset, split, lambda done, n: bar.progress(done / max(n, 1), text=f"Decoding {done:,}/{n:,}")
    )
    bar.empty()
if scan_key in scans:
    show_unreadable(scans[scan_key], f"all {int(counts[split].sum()):,} images of {split}")
else:
    show_unreadable(bad, f"the {len(faces) + len(bad)} faces shown")

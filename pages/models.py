"""Models: every registered model in a table; rename or delete trained ones; compare them; combine them."""

from dashboard.streamlit_compat import route_through_app

route_through_app()  # first, before the imports below: a deep link opened first must not wait for them

from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.common import (
    MODEL_KEY,
    data_picker,
    dataset_or_stop,
    get_predictor,
    model_errors,
    model_picker,
)
from emotion_core.classify.registry import DEFAULT_NAME, list_models, model_version
from emotion_core.data.summary import data_version
from emotion_core.errors import EmotionCoreError
from train import models

NOTICE_KEY = "models_notice"


@st.cache_data(max_entries=8, show_spinner=False)
def comparison(
    names: tuple[str, ...], stamps: tuple[float, ...], data: str, data_stamp: float, split: str
) -> pd.DataFrame:
    """Cached per (models, data, split); the stamps (modification times) make a retrained model or new data count."""
    return models.compare_models(list(names), data, split)


def recall_chart(frame: pd.DataFrame) -> alt.Chart:
    """Grouped bars: one group per class, one bar per model."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("class:N", sort=list(dict.fromkeys(frame["class"])), title=None),
            xOffset=alt.XOffset("model:N", sort=None),
            y=alt.Y("recall:Q", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("model:N", sort=None),
            tooltip=[
                "model",
                "class",
                alt.Tooltip("recall:Q", format=".3f"),
                alt.Tooltip("f1:Q", format=".3f"),
                "support",
            ],
        )
        .properties(height=320)
    )


def done(message: str, renamed: tuple[str, str] | None = None) -> None:
    """After a rename or delete: drop cached models and scores under the old names, then redraw the page."""
    if renamed and st.session_state.get(MODEL_KEY) == renamed[0]:
        st.session_state[MODEL_KEY] = renamed[1]
    get_predictor.clear()
    st.cache_data.clear()
    st.session_state[NOTICE_KEY] = message
    st.rerun()


def act(action: Callable[[], object], message: str, renamed: tuple[str, str] | None = None) -> None:
    """Run one model action: its error as one line on the page, or ``done`` with ``message``."""
    try:
        action()
    except EmotionCoreError as error:
        st.error(str(error))
        return
    done(message, renamed)


def rename_form(trained: list[str]) -> None:
    with st.form("rename"):
        old = st.selectbox("Model", trained, key="rename_old")
        new = st.text_input("New name", help="letters, digits, '-' and '_'", key="rename_new")
        if not st.form_submit_button("Rename"):
            return
    act(lambda: models.rename_model(old, new.strip()), f"Renamed '{old}' to '{new.strip()}'.", (old, new.strip()))


def delete_control(trained: list[str]) -> None:
    name = st.selectbox("Model", trained, key="delete_name")
    with st.popover("Delete model"):  # a second click: the run folder is removed for good
        st.write(f"Delete '{name}' and its run folder (checkpoints, logs, exports)? This cannot be undone.")
        if not st.button(f"Delete '{name}' for good", key="delete_confirm", type="primary"):
            return
    act(lambda: models.delete_model(name), f"Deleted '{name}'.")


def combine_form(names: list[str]) -> None:
    with st.form("combine"):
        chosen = st.multiselect("Models", names, key="combine_models")
        new = st.text_input("Name of the ensemble", help="letters, digits, '-' and '_'", key="combine_name")
        if not st.form_submit_button("Combine"):
            return
    with st.spinner(f"Combining {len(chosen)} models…"):
        act(
            lambda: models.combine_models(chosen, new.strip()),
            f"Saved '{new.strip()}', the ensemble of {', '.join(chosen)}.",
        )


def compare_section(names: list[str]) -> None:
    chosen = st.multiselect("Models", names, default=names[:3], key="compare_models")
    path = data_picker()
    dataset = dataset_or_stop(path)  # the last section: stopping here leaves the rest of the page drawn
    split = st.selectbox("Split", dataset.splits, index=dataset.splits.index("test") if "test" in dataset.splits else 0)
    if not chosen or not st.button("Compare", type="primary", key="compare"):
        return
    stamps = tuple(model_version(name) for name in chosen)
    try:
        with (
            model_errors(", ".join(chosen)),
            st.spinner(f"Classifying {split} with {len(chosen)} models…", show_time=True),
        ):
            frame = comparison(tuple(chosen), stamps, path, data_version(path), split)
    except (EmotionCoreError, ValueError, OSError) as error:
        st.error(f"Cannot compare: {error}")
        return
    st.altair_chart(recall_chart(frame), key="compare-recall")
    accuracy = frame.drop_duplicates("model").set_index("model")["accuracy"]
    st.caption("Accuracy: " + ", ".join(f"{name} {value:.1%}" for name, value in accuracy.items()))
    st.dataframe(frame.pivot(index="class", columns="model", values="f1").loc[frame["class"].unique(), chosen])


model_picker()
st.title("Models")
if NOTICE_KEY in st.session_state:
    st.success(st.session_state.pop(NOTICE_KEY))

st.dataframe(
    models.model_table(),
    hide_index=True,
    column_config={"accuracy": st.column_config.NumberColumn(format="percent"), "size_mb": "size (MB)"},
)

names = list(list_models())
trained = [name for name in names if name != DEFAULT_NAME]
left, right = st.columns(2)
with left:
    st.subheader("Rename")
    if trained:
        rename_form(trained)
    else:
        st.info("No trained models yet; the shipped 'default' cannot be renamed.")
with right:
    st.subheader("Delete")
    if trained:
        delete_control(trained)
    else:
        st.info("No trained models yet; the shipped 'default' cannot be deleted.")

st.subheader("Combine")
st.caption(
    "Models trained apart make different mistakes: an ensemble answers with their consensus (the mean of their "
    "logits), usually more accurately than any one, at the cost of running each."
)
combine_form(names)

st.subheader("Compare")
st.caption("Per-class recall of each model on the same dataset split (F1 in the table below the chart).")
compare_section(names)

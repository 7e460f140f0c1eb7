"""Models: every registered model in a table; rename or delete trained ones; compare them; combine them."""

from dashboard.streamlit_compat import route_through_app

route_through_app()  # first, before the imports below: a deep link opened first must not wait for them

from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.auth import current_actor
from dashboard.common import (
    MODEL_KEY,
    data_picker,
    dataset_or_stop,
    evaluation_or_error,
    forget_model,
    model_picker,
    public_text,
    show_error,
)
from emotion_core.actors import Action
from emotion_core.classify.registry import bundled_models, list_models
from emotion_core.data.evaluate import comparison_frame
from emotion_core.errors import EmotionCoreError
from train import combine, models

NOTICE_KEY = "models_notice"  # (succeeded, message), shown once after the rerun an action makes
COMBINE_KEY = "combine_job"  # the ensemble this session is combining (its name)
REFRESH_S = 1.0


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


def act(action: Callable[[], object], changed: str, message: str, renamed_to: str = "") -> None:
    """Rename or delete model ``changed``: the error as one line, or forget what was cached under its name (only
    that) and redraw the page with ``message``."""
    try:
        action()
    except EmotionCoreError as error:
        show_error(error)
        return
    forget_model(changed)
    if renamed_to and st.session_state.get(MODEL_KEY) == changed:
        st.session_state[MODEL_KEY] = renamed_to
    st.session_state[NOTICE_KEY] = (True, message)
    st.rerun()


def rename_form(trained: list[str]) -> None:
    with st.form("rename"):
        old = st.selectbox("Model", trained, key="rename_old")
        new = st.text_input("New name", help="letters, digits, '-' and '_'", key="rename_new")
        if not st.form_submit_button("Rename"):
            return
    act(
        lambda: models.rename_model(old, new.strip(), current_actor()),
        old,
        f"Renamed '{old}' to '{new.strip()}'.",
        new.strip(),
    )


def delete_control(trained: list[str]) -> None:
    name = st.selectbox("Model", trained, key="delete_name")
    with st.popover("Delete model"):  # a second click: the run folder is removed for good
        st.write(f"Delete '{name}' and its run folder (checkpoints, logs, exports)? This cannot be undone.")
        if not st.button(f"Delete '{name}' for good", key="delete_confirm", type="primary"):
            return
    act(lambda: models.delete_model(name, current_actor()), name, f"Deleted '{name}'.")


def combine_form(names: list[str]) -> None:
    """Starts the ensemble's background job on submit; its progress shows below the form."""
    with st.form("combine"):
        chosen = st.multiselect("Models", names, key="combine_models")
        new = st.text_input("Name of the ensemble", help="letters, digits, '-' and '_'", key="combine_name")
        if not st.form_submit_button("Combine"):
            return
    try:
        started = combine.start_combine(chosen, new.strip(), current_actor())
    except EmotionCoreError as error:
        show_error(error)
        return
    st.session_state[COMBINE_KEY] = started.name


def combine_progress(name: str) -> None:
    """The session's combine job: its progress while it runs (this fragment reruns itself), then its outcome."""
    try:
        current = combine.combine_status(name)
    except EmotionCoreError:
        st.session_state.pop(COMBINE_KEY, None)
        return
    job, members = current.job, ", ".join(current.members)
    if job.alive:
        st.progress(job.fraction, text=f"Combining {members} into '{current.name}': {current.step}…")
        return
    st.session_state.pop(COMBINE_KEY, None)
    if job.status == "finished":
        st.session_state[NOTICE_KEY] = (True, f"Saved '{current.name}', the ensemble of {members}.")
    else:
        st.session_state[NOTICE_KEY] = (False, f"Could not combine '{current.name}': {current.step}")
    st.rerun(scope="app")  # the model table above lists the new model


def compare_section(names: list[str]) -> None:
    chosen = st.multiselect("Models", names, default=names[:3], key="compare_models")
    path = data_picker()
    dataset = dataset_or_stop(path)  # the last section: stopping here leaves the rest of the page drawn
    split = st.selectbox("Split", dataset.splits, index=dataset.splits.index("test") if "test" in dataset.splits else 0)
    if not chosen or not st.button("Compare", type="primary", key="compare"):
        return
    reports = {}
    try:
        with st.spinner(f"Classifying {split} with {len(chosen)} models…", show_time=True):
            for name in chosen:  # each with its cached Predictor, and scored once per model, data and split
                reports[name] = evaluation_or_error(name, path, split)[0]
    except (EmotionCoreError, ValueError, OSError) as error:
        show_error(error, "Cannot compare: ")
        return
    frame = comparison_frame(reports)
    st.altair_chart(recall_chart(frame), key="compare-recall")
    accuracy = frame.drop_duplicates("model").set_index("model")["accuracy"]
    st.caption("Accuracy: " + ", ".join(f"{name} {value:.1%}" for name, value in accuracy.items()))
    st.dataframe(frame.pivot(index="class", columns="model", values="f1").loc[frame["class"].unique(), chosen])


model_picker()
st.title("Models")
if NOTICE_KEY in st.session_state:  # what the last rename, delete or combine did
    succeeded, notice = st.session_state.pop(NOTICE_KEY)
    (st.success if succeeded else st.error)(notice)

table = models.model_table()
if "problem" in table:  # a broken model's one-line reason may name its file
    table["problem"] = table["problem"].map(lambda text: public_text(text) if isinstance(text, str) else text)
st.dataframe(
    table,
    hide_index=True,
    column_config={"accuracy": st.column_config.NumberColumn(format="percent"), "size_mb": "size (MB)"},
)

names = list(list_models())
trained = [name for name in names if name not in bundled_models()]
if current_actor().may(Action.MANAGE_MODELS):
    left, right = st.columns(2)
    with left:
        st.subheader("Rename")
        if trained:
            rename_form(trained)
        else:
            st.info("No trained models yet; the shipped models cannot be renamed.")
    with right:
        st.subheader("Delete")
        if trained:
            delete_control(trained)
        else:
            st.info("No trained models yet; the shipped models cannot be deleted.")

    st.subheader("Combine")
    st.caption(
        "Models trained apart make different mistakes: an ensemble answers with their consensus (the mean of their "
        "logits), usually more accurately than any one, at the cost of running each. It is saved in the background "
        "(it continues if you leave this page) and joins the model list when done."
    )
    combine_form(names)
    if COMBINE_KEY in st.session_state:
        st.fragment(combine_progress, run_every=REFRESH_S)(st.session_state[COMBINE_KEY])
else:
    st.info("Renaming, deleting and combining models need an admin: log in as admin in the sidebar.")

st.subheader("Compare")
st.caption("Per-class recall of each model on the same dataset split (F1 in the table below the chart).")
compare_section(names)

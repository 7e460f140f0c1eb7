"""Train: configure and launch a background training run, then watch, cancel or resume it."""

from dashboard.streamlit_compat import route_through_app

route_through_app()  # first, before the imports below: a deep link opened first must not wait for them

from dataclasses import dataclass

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.auth import current_actor
from dashboard.common import data_picker, faces_picker, model_picker, public_text, session_uploads, show_error
from emotion_core.actors import Action
from emotion_core.classify.architectures import ARCHITECTURES
from emotion_core.classify.registry import list_models
from emotion_core.errors import EmotionCoreError
from emotion_core.jobs.background import JobStatus
from train import launcher
from train.config import TrainConfig

REFRESH_S = 2.0
LAUNCH_KEY = "launch_notice"
ALIVE_KEY = "runs_alive"
DEFAULTS = TrainConfig()
NO_INIT = "none (fresh weights)"


@dataclass(frozen=True)
class LaunchNotice:
    """Why the last Start did not start; ``blocked``: because another run was going at the time."""

    message: str
    blocked: bool


def curve_chart(log: pd.DataFrame, metric: str) -> alt.Chart:
    return (
        alt.Chart(launcher.curves(log, metric))
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=metric),
            color="split:N",
            tooltip=["epoch", "split", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(title=metric, height=240)
    )


def config_form() -> TrainConfig | None:
    """The launch form over TrainConfig's main fields; returns a config when submitted."""
    with st.form("train"):
        data = data_picker("Dataset (folder, zip or fer2013.csv)")
        init = st.selectbox(
            "Start from model",
            [NO_INIT, *list_models()],
            help=f"{field_help('init')}; the architecture choice is then ignored",
        )
        left, right = st.columns(2)
        architecture = left.selectbox("Architecture", list(ARCHITECTURES), help=field_help("architecture"))
        epochs = right.number_input("Epochs", 1, 500, DEFAULTS.epochs, help=field_help("epochs"))
        batch_size = left.number_input("Batch size", 1, 1024, DEFAULTS.batch_size, help=field_help("batch_size"))
        learning_rate = right.number_input(
            "Learning rate",
            1e-6,
            0.5,
            DEFAULTS.learning_rate,
            format="%.5f",
            step=1e-4,
            help=field_help("learning_rate"),
        )
        with left:
            faces = faces_picker()
        augment = st.checkbox("Augmentation", DEFAULTS.augment, help=field_help("augment"))
        teachers = st.multiselect("Distil from (teachers)", list(list_models()), help=field_help("teacher"))
        teacher_weight = st.slider(
            "Teacher weight", 0.0, 1.0, DEFAULTS.teacher_weight, 0.05, help=field_help("teacher_weight")
        )
        if not st.form_submit_button("Start training", type="primary"):
            return None
    return TrainConfig(
        data=data,
        init="" if init == NO_INIT else init,
        architecture=architecture,
        epochs=int(epochs),
        batch_size=int(batch_size),
        learning_rate=float(learning_rate),
        augment=augment,
        faces=faces,
        teacher=",".join(teachers),
        teacher_weight=float(teacher_weight),
    )


def field_help(name: str) -> str:
    return TrainConfig.__dataclass_fields__[name].metadata["help"]


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA after the first epoch"
    minutes, secs = divmod(int(seconds), 60)
    return f"ETA {minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"ETA {minutes}m {secs:02d}s"


def runs_section() -> None:
    """The run picker and the chosen run, redrawn every few seconds while any run is alive.

    The picker's statuses and a "run is going" launch error live in here, not in the page around it, so a
    run that ends updates them at the next tick instead of leaving "(starting)" until a reload.
    """
    runs = launcher.list_runs()
    show_launch_error(any(run.alive for run in runs))
    if not runs:
        st.info("No runs yet.")
        return
    names = [run.name for run in runs]
    statuses = {run.name: run.status for run in runs}
    chosen = st.session_state.get("watched_run")
    if chosen not in names:
        chosen = next((run.name for run in runs if run.alive), names[0])
    name = st.selectbox("Run", names, index=names.index(chosen), format_func=lambda n: f"{n} ({statuses[n]})")
    st.session_state.watched_run = name
    show_run(next(run for run in runs if run.name == name))
    alive = any(run.alive for run in runs)
    if st.session_state.get(ALIVE_KEY) and not alive:
        st.session_state[ALIVE_KEY] = False
        st.rerun()  # the last run ended: refresh the whole page once (the model picker gains the new model)
    st.session_state[ALIVE_KEY] = alive


def show_launch_error(any_alive: bool) -> None:
    """The last launch's error; one that said another run was going is dropped once no run is alive."""
    notice: LaunchNotice | None = st.session_state.get(LAUNCH_KEY)
    if notice is not None and notice.blocked and not any_alive:
        st.session_state.pop(LAUNCH_KEY)
    elif notice is not None:
        st.error(notice.message)


def show_run(run: JobStatus) -> None:
    """Progress, curves and controls of one run; another visitor's run shows its progress only."""
    actor = current_actor()
    if not actor.owns(run.owner):
        st.progress(run.fraction, text=f"Another visitor's run: {run.status}, epoch {run.done}/{run.total}.")
        return
    if run.alive:
        st.progress(
            run.done / max(run.total, 1),
            text=f"{run.status}: epoch {run.done}/{run.total} · {format_eta(run.eta_s)}",
        )
        with st.popover("Cancel run"):  # a second click, so a stray one does not end hours of training
            st.write("Stop training now? Resume later continues from the last finished epoch.")
            if st.button("Stop training", key="cancel", type="primary"):
                launcher.cancel(run.folder, actor)
                st.rerun()
    else:
        show_outcome(run)
    log = launcher.read_log(run.folder, actor)
    if len(log):
        loss, accuracy = st.columns(2)
        loss.altair_chart(curve_chart(log, "loss"), key="curve-loss")
        accuracy.altair_chart(curve_chart(log, "accuracy"), key="curve-accuracy")


def show_outcome(run: JobStatus) -> None:
    text = f"{run.name}: {run.status} after epoch {run.done}/{run.total}"
    if run.status == "finished":
        st.success(f"{text}. It is now in the sidebar's model picker; score it on the Evaluate page.")
        return
    if run.status == "failed":
        st.error(text)
    elif run.status == "interrupted":
        st.warning(f"{text}: the process ended before the run did.")
    else:
        st.info(text)
    tail = launcher.output_tail(run.folder, current_actor())
    if tail:
        st.code(public_text(tail), language=None)
    if launcher.resumable(run) and st.button("Resume run", key="resume", help="continue from the last finished epoch"):
        try:
            launcher.resume(run.folder, current_actor())
        except EmotionCoreError as error:
            show_error(error)
            return
        st.rerun()


model_picker()
st.title("Train")
st.caption(
    "Training runs in the background: it continues if you leave this page, close the browser or stop the dashboard "
    "(it is listed here again at the next start). One run at a time; only its owner or an admin may cancel it."
)

config = config_form() if current_actor().may(Action.TRAIN) else None
if not current_actor().may(Action.TRAIN):
    st.info("Training needs an admin: log in as admin in the sidebar. Runs in progress are listed below.")
if config is not None:
    try:
        started = launcher.launch(config, current_actor(), own=session_uploads())
    except EmotionCoreError as error:
        notice = LaunchNotice(public_text(str(error)), blocked=launcher.active_run() is not None)
        st.session_state[LAUNCH_KEY] = notice
    else:
        st.session_state.pop(LAUNCH_KEY, None)
        st.success(f"Started run '{started.name}' (pid {started.pid}).")
        st.session_state.watched_run = started.name

st.subheader("Runs")
st.fragment(runs_section, run_every=REFRESH_S if launcher.active_run() else None)()

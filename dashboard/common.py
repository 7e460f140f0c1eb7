"""What every page shares: the model and data pickers, the cached Predictor and dataset listing. UI glue only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import streamlit as st

from dashboard.auth import current_actor, session_owner
from emotion_core.actors import Action
from emotion_core.classify.predictor import Predictor
from emotion_core.classify.registry import DEFAULT_NAME, list_models, model_version
from emotion_core.data.access import check_data_path
from emotion_core.data.datasets import Dataset, open_dataset
from emotion_core.data.evaluate import Mistake, confident_mistakes, evaluate_predictor
from emotion_core.data.photo_crops import FACE_MODES, CropCache, PhotoCropper
from emotion_core.data.summary import data_version
from emotion_core.errors import EmotionCoreError, ModelLoadError, hide_paths
from emotion_core.files import file_version
from emotion_core.paths import default_data_path
from emotion_core.storage import OwnerStore

MODEL_KEY = "model_name"
DATA_KEY = "data_path"
UPLOAD_KEY = "uploaded_path"  # where this session's uploaded dataset zip lies (never shown)
UPLOAD_LABEL = "(your uploaded zip)"  # what the dataset box shows instead of that path
DEFAULT_LABEL = "(default dataset)"  # what it shows instead of the default dataset's server path
FACES_KEY = "faces_mode"
FACES_HELP = (
    "crops: the images are face crops (FER2013, CK+), used whole. detect: photos, each cropped to its largest "
    "face exactly as the Photo page finds it. auto: detect when the images are larger than 48x48 or not square."
)
GALLERY_SIZE = 24  # confident mistakes kept per evaluation


@contextmanager
def model_errors(model_name: str) -> Iterator[None]:
    """Show a model that cannot be loaded as one line and stop the script; the sidebar stays usable."""
    try:
        yield
    except ModelLoadError as error:
        stop_on_model_error(model_name, error)


def stop_on_model_error(model_name: str, error: ModelLoadError) -> NoReturn:
    st.error(f"Cannot load model '{model_name}': {public_text(str(error))}")  # a name from the picker, a path hidden
    st.stop()


@st.cache_resource(max_entries=4, show_spinner="Loading model…")
def get_predictor(model_name: str) -> Predictor:
    """One warm Predictor per model, shared by all sessions (it serialises model calls itself).

    max_entries bounds memory when users switch between many trained models.
    """
    return Predictor.load(model_name)


def load_predictor(model_name: str) -> Predictor:
    """The cached Predictor, or a one-line error and a stopped script for a missing or broken model."""
    try:
        return get_predictor(model_name)
    except ModelLoadError as error:
        stop_on_model_error(model_name, error)


@st.cache_data(max_entries=16, show_spinner=False)
def get_evaluation(
    model: str, model_stamp: float, data: str, data_stamp: float, split: str, faces: str, _predictor: Predictor
) -> tuple[dict[str, Any], list[Mistake]]:
    """One scoring per (model, data, split, faces), shared by the Evaluate and Models pages and all sessions.

    ``_predictor`` is the cached Predictor of ``model`` (not part of the key); the stamps (modification times) make
    a retrained model or replaced data count. Keeps the report and the gallery of confident mistakes, not the
    per-sample arrays: the cache pickles what it keeps.
    """
    result = evaluate_predictor(_predictor, data, split, faces)
    mistakes = confident_mistakes(result.x, result.y, result.probabilities, result.labels, result.refs, GALLERY_SIZE)
    return result.report, mistakes


def evaluation_or_error(model: str, data: str, split: str, faces: str = "auto") -> tuple[dict[str, Any], list[Mistake]]:
    """``get_evaluation`` with the cached Predictor: a broken model stops the page with its one-line error; a
    dataset that cannot be scored raises EmotionCoreError (or ValueError, OSError) for the page to show."""
    check_data(data)  # outside the shared cache, for this visitor
    predictor = load_predictor(model)
    return get_evaluation(model, model_version(model), data, data_version(data), split, faces, predictor)


def forget_model(name: str) -> None:
    """After a rename or delete: drop the Predictor cached under ``name`` and nothing else.

    Scores need nothing: they are keyed by name and model.keras's time, so a name that comes back (a new run
    called as the old one) has another stamp, and stale entries age out of their bounded caches.
    """
    get_predictor.clear(name)


def model_picker() -> str:
    """Sidebar select box over the shipped model and every finished run; the choice persists across pages."""
    names = list(list_models())
    current = st.session_state.get(MODEL_KEY, DEFAULT_NAME)
    if current not in names:
        current = DEFAULT_NAME
    choice = st.sidebar.selectbox("Model", names, index=names.index(current), help="Shipped default or a trained run")
    st.session_state[MODEL_KEY] = choice
    return choice


def session_uploads() -> OwnerStore:
    """This browser session's uploads: stored under its own random id, reachable from this session only."""
    return OwnerStore(session_owner())


def remember_upload(path: str) -> None:
    """Make an uploaded dataset this session's current one, shown as UPLOAD_LABEL (never its server path)."""
    st.session_state[UPLOAD_KEY] = st.session_state[DATA_KEY] = path


def data_picker(label: str = "Dataset path") -> str:
    """Text box for a dataset (folder, zip or fer2013.csv); the path typed on one page carries to the others.

    The box never shows a server path: the session's upload reads UPLOAD_LABEL, the default dataset DEFAULT_LABEL.
    """
    default = str(default_data_path())
    current = st.session_state.get(DATA_KEY) or default
    uploaded = st.session_state.get(UPLOAD_KEY)
    labels = {UPLOAD_LABEL: uploaded, DEFAULT_LABEL: default} if uploaded else {DEFAULT_LABEL: default}
    shown = next((label for label, path in labels.items() if path == current), current)
    help_text = "A folder or .zip laid out as <split>/<class>/<image>, or a fer2013.csv"
    if not current_actor().may(Action.SERVER_PATHS):
        help_text = "Upload a zip on the Dataset page; only an admin may type a folder on the server."
    typed = st.text_input(label, shown, help=help_text).strip()
    path = labels.get(typed) or typed
    st.session_state[DATA_KEY] = path
    return path


def public_text(text: str) -> str:
    """``text`` (an error message, a caption) as a visitor may see it: this session's upload path reads
    UPLOAD_LABEL and any other absolute path is cut to its last part (no server path reaches a page)."""
    uploaded = st.session_state.get(UPLOAD_KEY)
    return hide_paths(text.replace(uploaded, UPLOAD_LABEL) if uploaded else text)


def show_error(error: BaseException, prefix: str = "") -> None:
    """An error as one line on the page, without server paths."""
    st.error(public_text(f"{prefix}{error}"))


def check_data(path: str) -> None:
    """DataPathNotAllowedError unless this visitor may open ``path``: their own upload, the default dataset, or
    (admins) a path within the allowed roots."""
    check_data_path(path, own=session_uploads(), server_paths=current_actor().may(Action.SERVER_PATHS))


def open_dataset_checked(path: str) -> Dataset:
    """The cached listing of ``path`` once it is allowed for this visitor (checked on every call: the cache is
    shared by all sessions, so a check inside it would pass a second visitor who types the same path)."""
    check_data(path)
    if path == st.session_state.get(UPLOAD_KEY):
        session_uploads().touch()
    return get_dataset(path, file_version(path))


@st.cache_resource(max_entries=4, show_spinner="Listing dataset…")
def get_dataset(path: str, version: float) -> Dataset:
    """One listing per (path, modification time), shared by all sessions without copying.

    cache_resource, not cache_data: a fer2013.csv listing holds ~300 MB of pixel strings that must not be
    pickled on every rerun. ``version`` is only part of the key: a replaced file gets a fresh listing.
    """
    return open_dataset(path)  # callers check the path first (open_dataset_checked)


def faces_picker() -> str:
    """auto / crops / detect, shared by the Dataset, Evaluate and Train pages."""
    current = st.session_state.get(FACES_KEY, "auto")
    choice = st.selectbox("Faces", FACE_MODES, index=FACE_MODES.index(current), help=FACES_HELP)
    st.session_state[FACES_KEY] = choice
    return choice


@st.cache_resource(max_entries=1, show_spinner=False)
def get_cropper() -> PhotoCropper:
    """One detector and crop cache for the explorer, shared by all sessions (the detector serialises itself)."""
    return PhotoCropper(cache=CropCache())


def dataset_or_stop(path: str) -> Dataset:
    """The cached listing of ``path``; a bad or refused path ends the page run with its one-line error."""
    try:
        return open_dataset_checked(path)
    except EmotionCoreError as error:
        st.error(public_text(str(error)))
        st.stop()
